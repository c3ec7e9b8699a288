package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
)

// Config is the worker's configuration, read from a JSON file by
// [ReadConfig]. Durations are Go duration strings ("30s", "15m").
type Config struct {
	// Organizations are the organizations this fleet syncs, when
	// OrganizationsFrom is "config" (the default). With "database" they
	// are read from the fleet_organization table at every run instead
	// ([DatabaseDirectory]), so the platform adds and removes
	// organizations without a redeploy, and every process sees the same.
	Organizations     []Organization `json:"organizations,omitempty"`
	OrganizationsFrom string         `json:"organizations_from,omitempty"`
	// Floor and Ceiling bound the wait before an organization's next run
	// (default 30s and 15m): Report.NextRun is clamped between them.
	Floor   Duration `json:"floor,omitzero"`
	Ceiling Duration `json:"ceiling,omitzero"`
	// VerifyEvery is how often every organization runs a Verify before its
	// sync (default 6h); a negative value turns the periodic Verify off.
	// Each organization's Verify is due at its own time, kept in the
	// database (so restarts do not postpone it) and spread over the period
	// by the organization's id, so the fleet's Verifies do not come at once.
	VerifyEvery Duration `json:"verify_every,omitzero"`
	// Workers is the number of runs one process makes at once (default 10).
	Workers int `json:"workers,omitempty"`
	// RatePerUser is the pace, in requests per second, of each Kisi user
	// (default 4.5: Kisi allows 5 per user; the margin absorbs the
	// variation between the moment a request is let go and the moment it
	// reaches Kisi, so that no one-second window holds more than 5).
	RatePerUser float64 `json:"rate_per_user,omitempty"`
	// RateScope is where the pace of a Kisi user is kept: "fleet" (the
	// default) shares it between every process on the database (see
	// [SharedLimiter]); "process" keeps one per process, so N processes
	// send up to N times RatePerUser; "off" sends unpaced (only for tests
	// that show what the limiter prevents).
	RateScope string `json:"rate_scope,omitempty"`
	// RunBudget is the time one run may take (default 40s): a run that has
	// not finished by then stops, keeps what it did, and the next run of
	// the organization starts at once. JobTimeout bounds a run with its
	// completion (default RunBudget + 10s). RescueAfter is when River hands
	// a job whose worker died to another worker (default JobTimeout +
	// 10s), so a killed worker's organizations resume within about a
	// minute. LeaseTTL is the Store lease of a run (default 30s; a long run
	// renews it): a dead worker's organization waits at most that long
	// after the lease's last renewal before another run may write.
	RunBudget   Duration `json:"run_budget,omitzero"`
	JobTimeout  Duration `json:"job_timeout,omitzero"`
	RescueAfter Duration `json:"rescue_after,omitzero"`
	LeaseTTL    Duration `json:"lease_ttl,omitzero"`
	// EventsSecret is the shared secret the platform signs its events with
	// (POST /events, header X-Signature: the hex HMAC-SHA256 of the body);
	// EventsSecretEnv names an environment variable holding it instead.
	// Without one, events are refused.
	EventsSecret    string `json:"events_secret,omitempty"`
	EventsSecretEnv string `json:"events_secret_env,omitempty"`
	// RetryAfter caps the wait after a run that left failures (default 1m).
	RetryAfter Duration `json:"retry_after,omitzero"`
	// KisiRetry sets the Kisi client's retries: how many after the first
	// attempt and the backoff bounds (default 4, 500ms, 30s).
	KisiRetry *Retry `json:"kisi_retry,omitempty"`
	// Integration, when set, is sent on every Kisi request as Kisi's
	// integration partner headers (see kisi.WithIntegration): which
	// integration the requests come from and whom Kisi contacts about it.
	Integration *Integration `json:"integration,omitempty"`
}

// Integration names the platform's integration to Kisi: the
// X-Kisi-Integration-Identifier and X-Kisi-Integration-Contact headers.
type Integration struct {
	// Identifier names the integration, e.g. "acme-coworking".
	Identifier string `json:"identifier"`
	// Contact is an email address or URL Kisi can reach about it.
	Contact string `json:"contact"`
}

// The places a Kisi user's pace is kept (see Config.RateScope).
const (
	RateScopeFleet   = "fleet"
	RateScopeProcess = "process"
	RateScopeOff     = "off"
)

// Where the organizations come from (see Config.OrganizationsFrom).
const (
	OrganizationsFromConfig   = "config"
	OrganizationsFromDatabase = "database"
)

// Retry configures the Kisi client's retries (see kisi.WithRetry).
type Retry struct {
	Max     int      `json:"max"`
	WaitMin Duration `json:"wait_min"`
	WaitMax Duration `json:"wait_max"`
}

// Organization is one Kisi organization and how to sync it.
type Organization struct {
	// ID names the organization in the platform, the Store and the jobs.
	ID string `json:"id"`
	// KisiUser identifies the Kisi user the API key belongs to; all
	// organizations with the same KisiUser share one rate limiter.
	KisiUser string `json:"kisi_user"`
	// BaseURL is the Kisi API root (default https://api.kisi.io).
	BaseURL string `json:"base_url,omitempty"`
	// APIKey is the Kisi API key; APIKeyEnv names an environment variable
	// holding it instead (preferred: keeps the key out of the file).
	APIKey    string `json:"api_key,omitempty"`
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// WebhookSecret is the signature key of the organization's Kisi
	// webhook integration; WebhookSecretEnv names an environment variable
	// holding it. Without one, webhooks for the organization are refused.
	WebhookSecret    string `json:"webhook_secret,omitempty"`
	WebhookSecretEnv string `json:"webhook_secret_env,omitempty"`
	// Mapping and Policy are the organization's access rules.
	Mapping mapping.Mapping `json:"mapping"`
	Policy  *access.Policy  `json:"policy,omitempty"`
}

// Duration is a time.Duration written as a Go duration string in JSON.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ReadConfig reads and checks the configuration file at path.
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fleet: read config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return c, nil
}

// ParseConfig decodes and checks a configuration: it fills in defaults,
// reads the secrets named by *_env keys from the environment, and reports
// every problem at once. Unknown keys are refused.
func ParseConfig(data []byte) (*Config, error) {
	c := new(Config)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("fleet: config: %w", err)
	}
	if err := c.normalize(); err != nil {
		return nil, fmt.Errorf("fleet: config: %w", err)
	}
	return c, nil
}

// normalize fills in defaults, resolves secrets from the environment and
// checks the configuration.
func (c *Config) normalize() error {
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&c.Floor, 30*time.Second)
	def(&c.Ceiling, 15*time.Minute)
	def(&c.VerifyEvery, 6*time.Hour)
	def(&c.RunBudget, 40*time.Second)
	def(&c.JobTimeout, time.Duration(c.RunBudget)+10*time.Second)
	def(&c.RescueAfter, time.Duration(c.JobTimeout)+10*time.Second)
	def(&c.LeaseTTL, 30*time.Second)
	def(&c.RetryAfter, time.Minute)
	if c.Workers == 0 {
		c.Workers = 10
	}
	if c.RatePerUser == 0 {
		c.RatePerUser = 4.5
	}
	if c.OrganizationsFrom == "" {
		c.OrganizationsFrom = OrganizationsFromConfig
	}
	if c.RateScope == "" {
		c.RateScope = RateScopeFleet
	}
	if c.EventsSecretEnv != "" {
		c.EventsSecret = os.Getenv(c.EventsSecretEnv)
	}
	var errs []error
	switch {
	case c.Floor < 0 || c.Ceiling < c.Floor:
		errs = append(errs, fmt.Errorf("need 0 <= floor (%v) <= ceiling (%v)", time.Duration(c.Floor), time.Duration(c.Ceiling)))
	case c.Workers < 1:
		errs = append(errs, fmt.Errorf("workers %d: must be at least 1", c.Workers))
	case c.RatePerUser < 0:
		errs = append(errs, fmt.Errorf("rate_per_user %v: must be positive", c.RatePerUser))
	case c.RateScope != RateScopeFleet && c.RateScope != RateScopeProcess && c.RateScope != RateScopeOff:
		errs = append(errs, fmt.Errorf("rate_scope %q: want fleet, process or off", c.RateScope))
	case c.JobTimeout <= c.RunBudget:
		errs = append(errs, fmt.Errorf("job_timeout (%v) must be longer than run_budget (%v)", time.Duration(c.JobTimeout), time.Duration(c.RunBudget)))
	case c.RescueAfter <= c.JobTimeout:
		errs = append(errs, fmt.Errorf("rescue_after (%v) must be longer than job_timeout (%v)", time.Duration(c.RescueAfter), time.Duration(c.JobTimeout)))
	}
	if in := c.Integration; in != nil {
		// The Kisi client's own check, so the two cannot disagree.
		if _, err := kisi.NewClient("check", kisi.WithIntegration(in.Identifier, in.Contact)); err != nil {
			errs = append(errs, fmt.Errorf("integration: %w", err))
		}
	}
	if len(c.Organizations) == 0 && c.OrganizationsFrom != OrganizationsFromDatabase {
		errs = append(errs, errors.New("no organizations"))
	}
	switch c.OrganizationsFrom {
	case OrganizationsFromConfig, OrganizationsFromDatabase:
	default:
		errs = append(errs, fmt.Errorf("organizations_from %q: want config or database", c.OrganizationsFrom))
	}
	seen := map[string]bool{}
	for i := range c.Organizations {
		o := &c.Organizations[i]
		if o.ID == "" {
			errs = append(errs, fmt.Errorf("organization %d: empty id", i))
			continue
		}
		if seen[o.ID] {
			errs = append(errs, fmt.Errorf("organization %q: listed twice", o.ID))
		}
		seen[o.ID] = true
		errs = append(errs, o.normalize())
	}
	return errors.Join(errs...)
}

// normalize resolves the organization's secrets from the environment and
// checks it.
func (o *Organization) normalize() error {
	var errs []error
	if !validID(o.ID) {
		errs = append(errs, fmt.Errorf("organization %q: id may hold only letters, digits, '.', '_' and '-'", o.ID))
	}
	if o.KisiUser == "" {
		errs = append(errs, fmt.Errorf("organization %q: empty kisi_user", o.ID))
	}
	if o.APIKeyEnv != "" {
		o.APIKey = os.Getenv(o.APIKeyEnv)
	}
	if o.APIKey == "" {
		errs = append(errs, fmt.Errorf("organization %q: no api key (api_key or api_key_env)", o.ID))
	}
	if o.WebhookSecretEnv != "" {
		o.WebhookSecret = os.Getenv(o.WebhookSecretEnv)
	}
	if err := o.Mapping.Validate(nil); err != nil {
		errs = append(errs, fmt.Errorf("organization %q: %w", o.ID, err))
	}
	return errors.Join(errs...)
}

// policy returns the organization's policy, or the default.
func (o *Organization) policy() access.Policy {
	if o.Policy != nil {
		return *o.Policy
	}
	return access.DefaultPolicy()
}

// validID reports whether id is a usable organization id: 1 to 128
// letters, digits, '.', '_' or '-', not starting with '.'.
func validID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return false
	}
	for _, r := range id {
		ok := r == '.' || r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}
