package access

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/kisi"
)

// createLink creates the link of ch. over is the link in force it replaces
// (nil if none), which stays in Kisi: see replaceLinkInForce.
func (ru *run) createLink(ctx context.Context, ch Change, over *state.Superseded) error {
	if ru.quotaFull && ch.Email != "" && ch.Action != ActionReplace {
		// Kisi refused a link for its quota earlier in this run: wait, and
		// send no more requests that must fail. (A replacement's delete
		// freed the place its create takes.)
		if err := ru.park(ctx, ch, FailureQuota, fmt.Errorf("%w: waiting for room", errQuota)); !errors.Is(err, errQuota) {
			return err
		}
		return nil
	}
	intent := state.Record{Key: ch.Key, Kind: state.KindLink, State: state.StatePending, Email: ch.Email, GroupID: ch.GroupID,
		BookingID: ch.BookingID, Name: ch.Name, SendLink: ch.SendLink, QR: ch.QR, Window: *ch.Window, Sources: ch.Sources,
		Supersedes: over}
	if err := ru.put(ctx, intent); err != nil {
		return err
	}
	if ch.Email != "" {
		sent, err := ru.sentBefore(ctx, ch, over)
		if err != nil {
			return ru.linkFailed(ctx, ch, intent, err)
		}
		if sent != nil {
			intent.State, intent.KisiID, intent.Notified = state.StateSettled, sent.ID, true
			if err := ru.settle(ctx, intent); err != nil {
				return err
			}
			ru.rep.Adopted++
			return nil
		}
	}
	from, until := kisiglue.Validity(*ch.Window)
	req := &kisi.GroupLinkCreateRequest{GroupID: ch.GroupID, Name: kisiglue.LinkName(ch.Name, ch.BookingID), LinkEnabled: kisi.Ptr(ch.SendLink),
		ValidFrom: from, ValidUntil: until}
	if ch.Email != "" {
		req.Email = kisi.Ptr(ch.Email)
	}
	if ch.QR {
		req.QuickResponseCodeType = kisi.Ptr("online")
	}
	l, _, err := ru.k.CreateGroupLink(ctx, req)
	if err != nil && over != nil && ch.Email != "" && quotaRefusal(err) {
		// No room for a second link of the guest: the old one goes first,
		// and its place is the new one's.
		if _, derr := ru.k.DeleteGroupLink(ctx, over.KisiID); derr != nil && !errors.Is(derr, kisi.ErrNotFound) {
			return errors.Join(ru.linkFailed(ctx, ch, intent, err), derr)
		}
		*over = state.Superseded{} // gone: the caller has nothing to keep
		intent.Supersedes = nil
		if perr := ru.put(ctx, intent); perr != nil {
			return perr
		}
		l, _, err = ru.k.CreateGroupLink(ctx, req)
	}
	if err != nil && ch.Email != "" && quotaRefusal(err) && ch.Window.Start.Before(ru.r.o.clock.Now().Add(linkHorizon)) {
		// A guest within linkHorizon always gets a place: the link of the
		// booking furthest ahead yields its own, once.
		yielded, yerr := ru.yieldFarLink(ctx)
		if yerr != nil {
			return errors.Join(ru.linkFailed(ctx, ch, intent, err), yerr)
		}
		if yielded {
			l, _, err = ru.k.CreateGroupLink(ctx, req)
		}
	}
	if err != nil {
		return ru.linkFailed(ctx, ch, intent, err)
	}
	intent.State, intent.KisiID = state.StateSettled, l.ID
	created := CreatedLink{Link: Link{BookingID: ch.BookingID, GroupID: ch.GroupID, Name: ch.Name, Email: ch.Email,
		Window: *ch.Window, SendLink: ch.SendLink, QR: ch.QR}, KisiID: l.ID}
	if l.Secret != nil {
		created.Secret = *l.Secret
	}
	if l.QuickResponseCodeImage != nil {
		created.QRImage = *l.QuickResponseCodeImage
	}
	if ru.r.o.notifier != nil {
		// Kept until the Notifier accepts it, so a failed notification can
		// be retried; dropped after.
		intent.Secret, intent.QRImage = created.Secret, created.QRImage
	}
	if err := ru.settle(ctx, intent); err != nil {
		return err
	}
	if _, full := ru.recs[quotaParkKey]; full && ch.Email != "" && ch.Window.Start.After(ru.r.o.clock.Now().Add(linkHorizon)) {
		// A link beyond linkHorizon, tried once the refusal's back-off
		// ended, fits: there is room again. (A sooner one fitting says
		// nothing of the room: far links would fill it at once.)
		if err := ru.del(ctx, quotaParkKey); err != nil {
			return err
		}
	}
	ru.created(ch)
	if ru.r.o.notifier != nil {
		return ru.notify(ctx, intent, created)
	}
	return nil
}

// replaceLinkInForce replaces the guest's link in force (ch.KisiID) by one
// with ch's window, created first: Kisi allows several links of one guest in
// a group, so the guest is never without one, whatever Kisi fails. The old
// link is deleted once the new one exists. Until then the new link's record
// names it (Supersedes): a crash, a lost answer or a failed delete leaves it
// to the next run (see view and changeLists.decide), and a create Kisi
// refused leaves the old link and its record as they were.
func (ru *run) replaceLinkInForce(ctx context.Context, ch Change) error {
	if rec, ok := ru.recs[groupParkKey(ch.GroupID, ru.r.mappingFP)]; ok {
		// Found deleted earlier in this run: no request for the others.
		ru.rep.Parked = append(ru.rep.Parked, parkedOf(ch.Object, ch.Key, rec))
		return nil
	}
	old := ru.recs[ch.Key]
	if err := ru.dropSuperseded(ctx, old); err != nil {
		return err
	}
	old = ru.recs[ch.Key]
	parked, wasParked := ru.recs[parkKey(ch.Key)]
	over := &state.Superseded{KisiID: old.KisiID, Window: old.Window}
	err := ru.createLink(ctx, ch, over)
	rec, ok := ru.recs[ch.Key]
	switch {
	case ok && rec.State == state.StateSettled:
		ru.rep.Replaced++
		if derr := ru.dropSuperseded(ctx, rec); derr != nil {
			if wasParked {
				// The delete failing before goes on with its back-off.
				derr = errors.Join(derr, ru.put(ctx, parked))
			}
			return errors.Join(err, derr)
		}
		return err
	case !ok && over.KisiID != 0:
		// Refused: the link in force stays, and so does its record (the
		// refusal's back-off is in its park record).
		return errors.Join(err, ru.put(ctx, old))
	}
	// Its answer lost (the intent pending, naming the old link): the next
	// run finds out. Or the old link made room for a create Kisi still
	// refused for its quota: parked, as any link.
	return err
}

// dropSuperseded deletes from Kisi the link that rec's link replaced, if
// any, and forgets it. A 404 means it is already gone.
func (ru *run) dropSuperseded(ctx context.Context, rec state.Record) error {
	if rec.Supersedes == nil {
		return nil
	}
	_, err := onceMore(func() (*kisi.Response, error) { return ru.k.DeleteGroupLink(ctx, rec.Supersedes.KisiID) })
	if err != nil && !errors.Is(err, kisi.ErrNotFound) {
		return err
	}
	rec.Supersedes = nil
	return ru.put(ctx, rec)
}

// yieldFarLink deletes the SDK's email link for the booking furthest
// beyond linkHorizon, to free its place in Kisi's email-link quota for a
// guest booked sooner, and parks it until its booking comes within
// linkHorizon: it is sent again then, a second email to its guest, which
// the report tells (see DESIGN.md, "Failure scopes": quota). It reports
// whether a link yielded.
func (ru *run) yieldFarLink(ctx context.Context) (bool, error) {
	horizon := ru.r.o.clock.Now().Add(linkHorizon)
	var far *state.Record
	for _, key := range slices.Sorted(maps.Keys(ru.recs)) {
		rec := ru.recs[key]
		if rec.Kind == state.KindLink && rec.State == state.StateSettled && rec.Email != "" && rec.KisiID != 0 &&
			rec.Window.Start.After(horizon) && (far == nil || rec.Window.Start.After(far.Window.Start)) {
			far = &rec
		}
	}
	if far == nil {
		return false, nil
	}
	if err := ru.dropSuperseded(ctx, *far); err != nil {
		return false, err
	}
	if _, err := ru.k.DeleteGroupLink(ctx, far.KisiID); err != nil && !errors.Is(err, kisi.ErrNotFound) {
		return false, err
	}
	park := state.Record{Key: parkKey(far.Key), Kind: state.KindPark, Email: far.Email, GroupID: far.GroupID, Window: far.Window,
		Class: FailureQuota, RetryAt: far.Window.Start.Add(-linkHorizon),
		Reason: fmt.Sprintf("its link yielded its place in Kisi's email-link quota to a guest booked sooner; sent again (a second email) %s before the booking",
			textfmt.Duration(linkHorizon))}
	if err := ru.del(ctx, far.Key); err != nil {
		return false, err
	}
	if err := ru.put(ctx, park); err != nil {
		return false, err
	}
	ru.rep.Parked = append(ru.rep.Parked, parkedOf(ObjectLink, far.Key, park))
	return true, nil
}

// sentBefore finds the link this SDK already sent for the booking of ch in
// its group: a Store restored from an older backup does not record it, and
// creating it again would email the guest a second time. A link's name
// carries its booking's mark, so one read of the group's links of the
// guest's email tells. The link with ch's window is returned, to be
// adopted; one with another window that no record holds (nor over, the link
// in force ch replaces) is an orphan of a booking moved since the backup,
// and is deleted.
func (ru *run) sentBefore(ctx context.Context, ch Change, over *state.Superseded) (*kisi.GroupLink, error) {
	links, err := ru.r.linksOf(ctx, ch.GroupID, ch.Email)
	if err != nil {
		return nil, err
	}
	held := ru.recs[ch.Key].KisiID
	var same *kisi.GroupLink
	for _, l := range links {
		booking, ok := kisiglue.LinkBooking(l.Name)
		if !ok || booking != ch.BookingID || l.GroupID != ch.GroupID || l.ID == held || over != nil && l.ID == over.KisiID ||
			l.Email == nil || !strings.EqualFold(strings.TrimSpace(*l.Email), ch.Email) {
			continue
		}
		if same == nil && kisiglue.SameWindow(kisiglue.Window(l.ValidFrom, l.ValidUntil), *ch.Window) {
			same = l
			continue
		}
		if _, err := ru.k.DeleteGroupLink(ctx, l.ID); err != nil && !errors.Is(err, kisi.ErrNotFound) {
			return nil, err
		}
	}
	return same, nil
}

// linkFailed settles an intent after a failed create of a link: an unknown
// outcome stays pending (looked up next run); a 404, or a 422 on the group,
// means the group was deleted; a refusal for the email-link quota parks this and the run's
// other links; any other refusal parks the link with back-off.
func (ru *run) linkFailed(ctx context.Context, ch Change, intent state.Record, cause error) error {
	if !definite(cause) {
		return cause
	}
	if err := ru.del(ctx, intent.Key); err != nil {
		return errors.Join(cause, err)
	}
	switch {
	case errors.Is(cause, kisi.ErrNotFound) || groupRefused(cause):
		return ru.parkGroup(ctx, ch.GroupID, cause)
	case ch.Email != "" && quotaRefusal(cause):
		ru.quotaFull = true
		full := state.Record{Key: quotaParkKey, Kind: state.KindPark, Class: FailureQuota, Reason: "Kisi's email-link quota is full"}
		if err := ru.put(ctx, ru.retried(Change{}, full)); err != nil {
			return errors.Join(cause, err)
		}
		return ru.park(ctx, ch, FailureQuota, fmt.Errorf("%w: %w", errQuota, cause))
	case classify(cause) == FailureForbidden:
		return cause // the whole group waits (see forbid)
	}
	return ru.park(ctx, ch, FailureRefused, cause)
}

// groupRefused reports Kisi's answer to a link in a group that no longer
// exists: a 422 on its group field ("group must exist"), where a role's
// create answers 404.
func groupRefused(err error) bool {
	var ke *kisi.Error
	return errors.As(err, &ke) && ke.StatusCode == http.StatusUnprocessableEntity && len(ke.Fields["group"]) > 0
}

// quotaRefusal reports Kisi's answer to a link beyond the email-link quota:
// a 422 whose message speaks of the limit. Kisi documents no error code
// for it, so its text is the only sign.
func quotaRefusal(err error) bool {
	var ke *kisi.Error
	if !errors.As(err, &ke) || ke.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	texts := []string{ke.Message}
	for _, msgs := range ke.Fields {
		texts = append(texts, msgs...)
	}
	for _, t := range texts {
		if strings.Contains(strings.ToLower(t), "limit") {
			return true
		}
	}
	return false
}

func (ru *run) notify(ctx context.Context, rec state.Record, l CreatedLink) error {
	ru.tried[rec.Key] = true
	if err := ru.r.o.notifier.LinkCreated(ctx, l); err != nil {
		// The host's failure, not Kisi's: retried alone, with back-off.
		rec.Attempts++
		rec.RetryAt = ru.r.o.clock.Now().Add(ru.r.o.backoff(rec.Attempts))
		ru.rep.NextRun = earliest(ru.rep.NextRun, rec.RetryAt)
		cause := &hostError{fmt.Errorf("notify link %d: %w", rec.KisiID, err)}
		if perr := ru.put(ctx, rec); perr != nil {
			return errors.Join(cause, perr)
		}
		return cause
	}
	rec.Notified, rec.Secret, rec.QRImage, rec.Attempts, rec.RetryAt = true, "", "", 0, time.Time{}
	return ru.put(ctx, rec)
}

// retryNotifications retries links whose Notifier call failed earlier.
func (ru *run) retryNotifications(ctx context.Context) {
	keys := slices.Sorted(maps.Keys(ru.recs))
	for _, key := range keys {
		rec := ru.recs[key]
		if rec.Kind != state.KindLink || rec.State != state.StateSettled || rec.Notified || ru.tried[key] ||
			rec.Secret == "" && rec.QRImage == "" {
			continue
		}
		if now := ru.r.o.clock.Now(); now.Before(rec.RetryAt) {
			ru.rep.NextRun = earliest(ru.rep.NextRun, rec.RetryAt)
			continue
		}
		l := CreatedLink{Link: Link{BookingID: rec.BookingID, GroupID: rec.GroupID, Name: rec.Name, Email: rec.Email,
			Window: rec.Window, SendLink: rec.SendLink, QR: rec.QR}, KisiID: rec.KisiID, Secret: rec.Secret, QRImage: rec.QRImage}
		if err := ru.notify(ctx, rec, l); err != nil {
			ru.rep.Failed++
			ru.rep.Failures = append(ru.rep.Failures, Failure{Action: ActionCreate, Object: ObjectLink, Key: key,
				Email: rec.Email, GroupID: rec.GroupID, Class: classify(err), Message: err.Error(), Err: err})
			ru.errs = append(ru.errs, fmt.Errorf("access: %w", err))
		}
	}
}
