module github.com/kisisync/kisisync/bench

go 1.24.0

replace github.com/kisisync/kisisync => ../

require (
	github.com/google/go-cmp v0.7.0
	github.com/google/go-intervals v0.0.2
	github.com/jonboulle/clockwork v0.5.0
	github.com/kisisync/kisisync v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	github.com/teambition/rrule-go v1.8.2
	golang.org/x/time v0.14.0
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
