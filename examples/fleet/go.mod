module github.com/kisisync/kisisync/examples/fleet

go 1.24.0

replace github.com/kisisync/kisisync => ../..

require (
	github.com/jackc/pgx/v5 v5.8.0
	github.com/jonboulle/clockwork v0.5.0
	github.com/kisisync/kisisync v0.0.0-00010101000000-000000000000
	github.com/kisisync/kisisync/access/pgstore v0.0.0-00010101000000-000000000000
	github.com/prometheus/client_golang v1.23.2
	github.com/riverqueue/river v0.30.0
	github.com/riverqueue/river/riverdriver/riverpgxv5 v0.30.0
	github.com/riverqueue/river/rivertype v0.30.2
	github.com/stretchr/testify v1.12.1
	golang.org/x/sync v0.19.0
	golang.org/x/time v0.14.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/kylelemons/godebug v1.1.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.67.5 // indirect
	github.com/prometheus/procfs v0.19.2 // indirect
	github.com/riverqueue/river/riverdriver v0.30.2 // indirect
	github.com/riverqueue/river/rivershared v0.30.0 // indirect
	github.com/tidwall/gjson v1.20.0 // indirect
	github.com/tidwall/match v1.2.0 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	github.com/tidwall/sjson v1.2.5 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	go.yaml.in/yaml/v2 v2.4.3 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.34.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/kisisync/kisisync/access/pgstore => ../../access/pgstore
