package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
)

// With --fake and --state FILE, the fake Kisi lasts between runs: FILE is
// the SQLite state as against Kisi, and its table kisisync_fake_journal
// holds the journal of the writes made to the fake. Each run starts a fresh
// fake, seeded as always, and replays the journal into it, each write at the
// time it was made; the fake numbers everything in order, so the replayed
// users, roles and links get their old ids back, the ones the state
// records.
//
// The journal's table is also the mark of a fake's state: it lives in the
// database itself, so a copy of the file (a backup) keeps it, and a fake's
// records are never used against Kisi. Files of older versions kept the
// journal beside the state, in FILE.fake.json; it is still read, and still
// marks the file.

// legacySuffix names the journal file of older versions, next to the state.
const legacySuffix = ".fake.json"

// journalTable creates the table of the journal, the mark of a fake's state.
const journalTable = `CREATE TABLE IF NOT EXISTS kisisync_fake_journal (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	journal TEXT NOT NULL
)`

// journal is the record of the writes made to a fake Kisi.
type journal struct {
	path    string         // the state file
	db      *sql.DB        // the state file, for the journal's table
	Entries []journalEntry `json:"entries"`
}

// journalEntry is one write that succeeded. Op is one of create_user,
// create_role, update_role, delete_role, create_link, delete_link.
type journalEntry struct {
	At   time.Time                         `json:"at"`
	Op   string                            `json:"op"`
	ID   int64                             `json:"id"` // the id created, updated or deleted
	User *kisi.UserCreateRequest           `json:"user,omitempty"`
	Role *kisi.RoleAssignmentCreateRequest `json:"role,omitempty"`
	Link *kisi.GroupLinkCreateRequest      `json:"link,omitempty"`
	// Update is a role update; RoleAssignmentUpdateRequest keeps its
	// validity out of its own JSON form.
	Update *roleUpdate `json:"update,omitempty"`
}

// roleUpdate is the JSON form of a kisi.RoleAssignmentUpdateRequest.
type roleUpdate struct {
	RoleID   *string    `json:"role_id,omitempty"`
	Notify   *bool      `json:"notify,omitempty"`
	Validity bool       `json:"validity,omitempty"`
	From     *time.Time `json:"from,omitempty"`
	Until    *time.Time `json:"until,omitempty"`
}

func (u *roleUpdate) request() *kisi.RoleAssignmentUpdateRequest {
	r := &kisi.RoleAssignmentUpdateRequest{RoleID: u.RoleID, Notify: u.Notify}
	if u.Validity {
		r.Validity = &kisi.Validity{From: u.From, Until: u.Until}
	}
	return r
}

// loadJournal reads the journal of the state file state, and marks a new
// state file as a fake's at once. A state file without the mark was made
// against Kisi and is refused, so that the fake never adopts real records.
// The caller closes the journal.
func loadJournal(ctx context.Context, state string) (*journal, error) {
	j := &journal{path: state}
	_, serr := os.Stat(state)
	isNew := errors.Is(serr, fs.ErrNotExist)
	legacy, lerr := os.ReadFile(state + legacySuffix)
	if lerr != nil && !errors.Is(lerr, fs.ErrNotExist) {
		return nil, lerr
	}
	if isNew {
		// Created as sqlitestore creates it: it will hold link secrets.
		f, err := os.OpenFile(state, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
	}
	db, err := openDB(state)
	if err != nil {
		return nil, err
	}
	j.db = db
	var raw string
	switch {
	case tableExists(ctx, db, "kisisync_fake_journal"):
		if err := db.QueryRowContext(ctx, `SELECT journal FROM kisisync_fake_journal WHERE id = 1`).Scan(&raw); err != nil {
			j.close()
			return nil, fmt.Errorf("%s: read the fake's journal: %w", state, err)
		}
	case lerr == nil:
		raw = string(legacy) // an older version's journal: moved into the database below
	case !isNew:
		j.close()
		return nil, &usageError{fmt.Sprintf("%s was not made with --fake: use another state file with --fake, so that the fake never mixes with what kisisync did in Kisi", state)}
	default:
		raw = `{"entries": []}`
	}
	if err := json.Unmarshal([]byte(raw), j); err != nil {
		j.close()
		return nil, &inputError{file: state, msgs: []string{"not a journal of the fake: " + err.Error()}}
	}
	if err := j.save(); err != nil { // marks a new file before anything else is written to it
		j.close()
		return nil, err
	}
	return j, nil
}

// close closes the journal's database.
func (j *journal) close() {
	if j != nil && j.db != nil {
		_ = j.db.Close()
	}
}

// notFakeState refuses a state file made with --fake for a run against
// Kisi: its records are the fake's. An empty state is none.
func notFakeState(ctx context.Context, state string) error {
	if state == "" {
		return nil
	}
	refuse := &usageError{fmt.Sprintf("%s was made with --fake: its records are the fake's, never use it against Kisi; start a new state file", state)}
	if _, err := os.Stat(state + legacySuffix); err == nil {
		return refuse
	}
	if _, err := os.Stat(state); err != nil {
		return nil // a new state file
	}
	db, err := openDB(state)
	if err != nil {
		return err
	}
	defer db.Close()
	if tableExists(ctx, db, "kisisync_fake_journal") {
		return refuse
	}
	return nil
}

// save writes the journal into its table.
func (j *journal) save() error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if _, err := j.db.Exec(journalTable); err != nil {
		return fmt.Errorf("%s: save the fake's journal: %w", j.path, err)
	}
	if _, err := j.db.Exec(`INSERT INTO kisisync_fake_journal (id, journal) VALUES (1, ?)
ON CONFLICT (id) DO UPDATE SET journal = excluded.journal`, string(b)); err != nil {
		return fmt.Errorf("%s: save the fake's journal: %w", j.path, err)
	}
	return nil
}

// last is the time of the last write, zero for none.
func (j *journal) last() time.Time {
	if len(j.Entries) == 0 {
		return time.Time{}
	}
	return j.Entries[len(j.Entries)-1].At
}

// replay makes the journal's writes again in a fresh fake through api, the
// clock of the fake advancing to each write's time, and checks that every
// create gets its old id back.
func (j *journal) replay(ctx context.Context, api access.KisiAPI, clock *clockwork.FakeClock) error {
	for i, e := range j.Entries {
		if d := e.At.Sub(clock.Now()); d > 0 {
			clock.Advance(d)
		}
		var id int64
		var err error
		switch e.Op {
		case "create_user":
			var u *kisi.User
			if u, _, err = api.CreateUser(ctx, e.User); u != nil {
				id = u.ID
			}
		case "create_role":
			var ra *kisi.RoleAssignment
			if ra, _, err = api.CreateRoleAssignment(ctx, e.Role); ra != nil {
				id = ra.ID
			}
		case "create_link":
			var l *kisi.GroupLink
			if l, _, err = api.CreateGroupLink(ctx, e.Link); l != nil {
				id = l.ID
			}
		case "update_role":
			_, err = api.UpdateRoleAssignment(ctx, e.ID, e.Update.request())
			id = e.ID
		case "delete_role":
			_, err = api.DeleteRoleAssignment(ctx, e.ID)
			id = e.ID
		case "delete_link":
			_, err = api.DeleteGroupLink(ctx, e.ID)
			id = e.ID
		default:
			err = fmt.Errorf("unknown op %q", e.Op)
		}
		if err == nil && id != e.ID {
			err = fmt.Errorf("got id %d, want %d", id, e.ID)
		}
		if err != nil {
			return fmt.Errorf("%s: entry %d (%s at %s) could not be replayed: %w; was the mapping changed? Delete the state file and its journal to start the fake afresh", j.path, i, e.Op, e.At.Format(time.RFC3339), err)
		}
	}
	return nil
}

// recorder is an access.KisiAPI that adds every write that succeeds to a
// journal, at the time of clock.
type recorder struct {
	access.KisiAPI
	j     *journal
	clock clockwork.Clock
}

func (r recorder) add(e journalEntry) {
	e.At = r.clock.Now()
	r.j.Entries = append(r.j.Entries, e)
}

func (r recorder) CreateUser(ctx context.Context, req *kisi.UserCreateRequest) (*kisi.User, *kisi.Response, error) {
	u, resp, err := r.KisiAPI.CreateUser(ctx, req)
	if err == nil && u != nil {
		r.add(journalEntry{Op: "create_user", ID: u.ID, User: req})
	}
	return u, resp, err
}

func (r recorder) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	ra, resp, err := r.KisiAPI.CreateRoleAssignment(ctx, req)
	if err == nil && ra != nil {
		r.add(journalEntry{Op: "create_role", ID: ra.ID, Role: req})
	}
	return ra, resp, err
}

func (r recorder) UpdateRoleAssignment(ctx context.Context, id int64, req *kisi.RoleAssignmentUpdateRequest) (*kisi.Response, error) {
	resp, err := r.KisiAPI.UpdateRoleAssignment(ctx, id, req)
	if err == nil && req != nil {
		u := &roleUpdate{RoleID: req.RoleID, Notify: req.Notify}
		if req.Validity != nil {
			u.Validity, u.From, u.Until = true, req.Validity.From, req.Validity.Until
		}
		r.add(journalEntry{Op: "update_role", ID: id, Update: u})
	}
	return resp, err
}

func (r recorder) DeleteRoleAssignment(ctx context.Context, id int64) (*kisi.Response, error) {
	resp, err := r.KisiAPI.DeleteRoleAssignment(ctx, id)
	if err == nil {
		r.add(journalEntry{Op: "delete_role", ID: id})
	}
	return resp, err
}

func (r recorder) CreateGroupLink(ctx context.Context, req *kisi.GroupLinkCreateRequest) (*kisi.GroupLink, *kisi.Response, error) {
	l, resp, err := r.KisiAPI.CreateGroupLink(ctx, req)
	if err == nil && l != nil {
		r.add(journalEntry{Op: "create_link", ID: l.ID, Link: req})
	}
	return l, resp, err
}

func (r recorder) DeleteGroupLink(ctx context.Context, id int64) (*kisi.Response, error) {
	resp, err := r.KisiAPI.DeleteGroupLink(ctx, id)
	if err == nil {
		r.add(journalEntry{Op: "delete_link", ID: id})
	}
	return resp, err
}
