package fleet

// mutation names a safeguard taken out of this build of the worker, so
// that the load test can show what the safeguard prevents. It is set only
// by that test, with
//
//	go build -ldflags "-X github.com/kisisync/kisisync/examples/fleet.mutation=no-unique-jobs"
//
// and is empty in every other build. Known value: "no-unique-jobs" (sync
// jobs are not unique by organization).
var mutation string
