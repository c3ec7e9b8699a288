package filestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kisisync/kisisync/access"
)

// Store is an [access.Store] kept in a JSON file.
type Store struct {
	path string
	mu   sync.Mutex
	data fileData
}

var _ access.Store = (*Store)(nil)

type fileData struct {
	Organizations map[string]*orgData `json:"organizations"`
}

type orgData struct {
	Holder  string                   `json:"lease_holder,omitempty"`
	Expires time.Time                `json:"lease_expires,omitzero"`
	Token   int64                    `json:"lease_token,omitempty"`
	Records map[string]access.Record `json:"records"`
}

// Open returns the Store kept in the file at path, reading it if it exists.
// A missing file is an empty Store; the file is created at the first write.
func Open(path string) (*Store, error) {
	s := &Store{path: path, data: fileData{Organizations: map[string]*orgData{}}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if err := json.Unmarshal(b, &s.data); err != nil {
		return nil, fmt.Errorf("filestore: %s: %w", path, err)
	}
	if s.data.Organizations == nil {
		s.data.Organizations = map[string]*orgData{}
	}
	for _, o := range s.data.Organizations {
		if o.Records == nil {
			o.Records = map[string]access.Record{}
		}
	}
	return s, nil
}

// Path returns the file the Store is kept in.
func (s *Store) Path() string { return s.path }

func (s *Store) org(name string) *orgData {
	o := s.data.Organizations[name]
	if o == nil {
		o = &orgData{Records: map[string]access.Record{}}
		s.data.Organizations[name] = o
	}
	return o
}

// save writes the whole file through a temporary file and a rename.
func (s *Store) save() error {
	b, err := json.MarshalIndent(s.data, "", "  ")
	if err != nil {
		return fmt.Errorf("filestore: encode: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".kisisync-state-*")
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("filestore: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("filestore: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	return nil
}

// Lease implements [access.Store].
func (s *Store) Lease(ctx context.Context, org, holder string, now, expires time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if holder == "" {
		return 0, errors.New("filestore: empty lease holder")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.org(org)
	if expires.IsZero() {
		if o.Holder != holder {
			return 0, nil
		}
		o.Holder, o.Expires = "", time.Time{}
		return 0, s.save()
	}
	if o.Holder != holder {
		if o.Holder != "" && now.Before(o.Expires) {
			return 0, &access.LeaseHeldError{Organization: org, Expires: o.Expires}
		}
		o.Holder = holder
		o.Token++
	}
	o.Expires = expires
	return o.Token, s.save()
}

// fenced reports whether token is not org's current term; s.mu is held.
func (s *Store) fenced(org string, token int64) error {
	if o := s.data.Organizations[org]; o == nil || o.Holder == "" || o.Token != token {
		return fmt.Errorf("filestore: token %d of %q: %w", token, org, access.ErrLeaseLost)
	}
	return nil
}

// Load implements [access.Store].
func (s *Store) Load(ctx context.Context, org string) ([]access.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []access.Record{}
	if o := s.data.Organizations[org]; o != nil {
		for _, r := range o.Records {
			r.Sources = slices.Clone(r.Sources)
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b access.Record) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Put implements [access.Store].
func (s *Store) Put(ctx context.Context, org string, token int64, rec access.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec.Key == "" {
		return errors.New("filestore: record with empty key")
	}
	rec.Sources = slices.Clone(rec.Sources)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fenced(org, token); err != nil {
		return err
	}
	s.org(org).Records[rec.Key] = rec
	return s.save()
}

// Delete implements [access.Store].
func (s *Store) Delete(ctx context.Context, org string, token int64, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fenced(org, token); err != nil {
		return err
	}
	o := s.data.Organizations[org]
	if _, ok := o.Records[key]; !ok {
		return nil
	}
	delete(o.Records, key)
	return s.save()
}
