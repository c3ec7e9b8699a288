package fleet_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/examples/fleet"
)

func TestExampleConfig(t *testing.T) {
	t.Setenv("KISI_KEY_ACME", "key")
	t.Setenv("KISI_WEBHOOK_ACME_BERLIN", "secret-b")
	t.Setenv("KISI_WEBHOOK_ACME_HAMBURG", "secret-h")
	cfg, err := fleet.ReadConfig("fleet.example.json")
	require.NoError(t, err)
	require.Len(t, cfg.Organizations, 2)
	require.Equal(t, "key", cfg.Organizations[1].APIKey)
	require.Equal(t, "secret-h", cfg.Organizations[1].WebhookSecret)
	require.Equal(t, 10*time.Minute, cfg.Organizations[1].Policy.Buffer.Before)
	require.Equal(t, fleet.Duration(40*time.Second), cfg.RunBudget)
	require.Equal(t, fleet.Duration(50*time.Second), cfg.JobTimeout, "run budget + 10s")
	require.Equal(t, fleet.Duration(time.Minute), cfg.RescueAfter, "job timeout + 10s: a killed worker's organizations resume within a minute")
}

func TestConfigErrors(t *testing.T) {
	org := `{"id": "a", "kisi_user": "u", "api_key": "k"}`
	tests := []struct {
		name, json, want string
	}{
		{"no organizations", `{}`, "no organizations"},
		{"unknown key", `{"organisations": []}`, `unknown field "organisations"`},
		{"bad duration", `{"floor": 30, "organizations": [` + org + `]}`, "duration must be a string"},
		{"floor above ceiling", `{"floor": "1h", "ceiling": "1m", "organizations": [` + org + `]}`, "need 0 <= floor"},
		{"rescue before timeout", `{"job_timeout": "5m", "rescue_after": "1m", "organizations": [` + org + `]}`, "must be longer than job_timeout"},
		{"timeout before budget", `{"run_budget": "5m", "job_timeout": "1m", "organizations": [` + org + `]}`, "must be longer than run_budget"},
		{"bad rate scope", `{"rate_scope": "host", "organizations": [` + org + `]}`, `rate_scope "host"`},
		{"twice", `{"organizations": [` + org + `,` + org + `]}`, `"a": listed twice`},
		{"bad id", `{"organizations": [{"id": "../x", "kisi_user": "u", "api_key": "k"}]}`, "id may hold only"},
		{"no kisi user", `{"organizations": [{"id": "a", "api_key": "k"}]}`, "empty kisi_user"},
		{"no key", `{"organizations": [{"id": "a", "kisi_user": "u", "api_key_env": "FLEET_TEST_UNSET"}]}`, "no api key"},
		{"empty integration contact", `{"integration": {"identifier": "acme"}, "organizations": [` + org + `]}`, "integration identifier and contact must not be empty"},
		{"bad mapping", `{"organizations": [{"id": "a", "kisi_user": "u", "api_key": "k", "mapping": {"plans": {"p": [-1]}}}]}`, "invalid group"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fleet.ParseConfig([]byte(tc.json))
			require.ErrorContains(t, err, tc.want)
		})
	}
}
