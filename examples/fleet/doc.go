// Package fleet runs kisisync for many organizations on River, a job queue
// on PostgreSQL: one sync job per organization at a time, scheduled at
// [access.Report.NextRun] between a floor and a ceiling, woken by the
// platform (in its own transaction with [WakeTx], or by signed events) and
// by verified Kisi webhooks, with a periodic Verify per organization, one
// pace per Kisi user shared by every process ([SharedLimiter]), Prometheus
// metrics and slog logs. The worker binary is in cmd/worker.
//
// # Jobs
//
// Each organization has exactly one job that is not finished: [SyncArgs]
// is unique by organization among the available, pending, running,
// retryable and scheduled jobs. A run completes its job and inserts the
// next one in one transaction, so a run is never lost and never doubled:
// if the process dies mid-run, River rescues the running job and another
// worker runs it again (the Store's fenced lease keeps a run that only
// stalled from writing once another has taken over). A run stops at
// Config.RunBudget and the next one goes on at once, so that rescue can
// come soon (Config.RescueAfter, default one minute).
//
// A wake ([Worker.Wake], [WakeTx]) counts the request in the fleet_org
// table and makes the organization's job due as soon as the floor allows;
// a wake that arrives while the job runs is seen when that run completes,
// and the next run starts a floor later. Wakes coalesce: an organization
// runs at most once per floor however many arrive.
//
// # Usage
//
//	pool, _ := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	_ = fleet.Migrate(ctx, pool) // once per deploy; safe at once from many
//	cfg, _ := fleet.ReadConfig("fleet.json")
//	w, _ := fleet.New(pool, cfg, pgstore.New(pool), myLoader, fleet.Options{Logger: log})
//	_ = w.Start(ctx)
//	http.ListenAndServe(":8080", fleet.NewHandler(w))
//
// # Where a host plugs in
//
//   - its data: a [Loader] that reads one organization's snapshot;
//   - its organizations: a [Directory] (the configuration file's, the
//     database's [DatabaseDirectory], or its own);
//   - its Store: an access.Store on the same PostgreSQL (pgstore);
//   - its events: [WakeTx] in its transactions, or POST /events; POST
//     /webhooks/kisi/{org} from Kisi (see [Handler]).
package fleet
