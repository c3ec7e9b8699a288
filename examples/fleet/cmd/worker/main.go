// Command worker runs kisisync for many organizations on River: run it on
// as many hosts as you like against one PostgreSQL.
//
//	worker -config fleet.json -database "$DATABASE_URL" -migrate   # once per deploy
//	worker -config fleet.json -database "$DATABASE_URL" -snapshots ./snapshots -listen :8080
//
// It serves POST /events, POST /webhooks/kisi/{org}, GET /metrics,
// GET /status/{org}, GET /healthz and GET /readyz on -listen (see
// fleet.Handler; POST /events on -events-listen instead when set), logs
// JSON lines to stderr,
// and stops cleanly on SIGINT or SIGTERM: runs in progress get -grace to
// finish, then are cancelled and taken over by another worker.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kisisync/kisisync/examples/fleet"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr *os.File) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var (
		configPath = fs.String("config", "", "configuration file (JSON, see fleet.Config)")
		dsn        = fs.String("database", os.Getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL)")
		migrate    = fs.Bool("migrate", false, "bring River's and the fleet's tables up to date, then exit")
		listen     = fs.String("listen", ":8080", "address of the HTTP endpoints; empty: none")
		eventsAddr = fs.String("events-listen", "", "address of POST /events alone, for the platform; empty: on -listen")
		snapshots  = fs.String("snapshots", "snapshots", "directory of <organization>.json snapshots")
		id         = fs.String("id", "", "name of this process in logs and leases (default host-pid)")
		grace      = fs.Duration("grace", 30*time.Second, "time runs in progress get to finish on shutdown")
		level      = fs.String("log-level", "info", "debug, info, warn or error")
		storeKind  = fs.String("store", "postgres", "where records are kept: postgres, or memory (one process only, for trying it out)")
	)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	if *dsn == "" {
		return errors.New("no database: set -database or DATABASE_URL")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	pool, err := pgxpool.New(ctx, *dsn)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	if *migrate {
		if err := fleet.Migrate(ctx, pool); err != nil {
			return err
		}
		log.Info("migrations applied")
		return nil
	}
	if *configPath == "" {
		return errors.New("no configuration: set -config")
	}
	cfg, err := fleet.ReadConfig(*configPath)
	if err != nil {
		return err
	}
	if *id == "" {
		host, _ := os.Hostname()
		*id = fmt.Sprintf("%s-%d", cmp.Or(host, "worker"), os.Getpid())
	}
	log = log.With("worker", *id)
	store, err := openStore(*storeKind, pool)
	if err != nil {
		return err
	}
	w, err := fleet.New(pool, cfg, store, fleet.DirLoader{Dir: *snapshots}, fleet.Options{ID: *id, Logger: log})
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	log.Info("worker started", "organizations", len(cfg.Organizations), "runs_at_once", cfg.Workers)

	var servers []*http.Server
	serve := func(addr, name string, h http.Handler) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		log.Info(name+" listening", "addr", ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(name+" stopped", "error", err)
			}
		}()
		return nil
	}
	var opts []fleet.HandlerOption
	if *eventsAddr != "" {
		opts = append(opts, fleet.WithoutEvents())
		if err := serve(*eventsAddr, "events", fleet.NewEventsHandler(w)); err != nil {
			_ = w.Stop(context.WithoutCancel(ctx))
			return err
		}
	}
	if *listen != "" {
		if err := serve(*listen, "http", fleet.NewHandler(w, opts...)); err != nil {
			_ = w.Stop(context.WithoutCancel(ctx))
			return err
		}
	}
	<-ctx.Done()
	log.Info("stopping")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *grace)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(sctx)
	}
	return w.Stop(sctx)
}
