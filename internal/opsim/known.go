package opsim

import "strings"

// Defect is an open defect of the reconciler that the simulator finds. A
// violation that matches a known defect is counted and the history goes
// on, so that one open defect does not hide the others; the issue that
// fixes it removes it from [Known], and from then on every history that
// breaks it fails.
type Defect struct {
	// Issue is the issue that fixes it.
	Issue int
	// Invariant is the invariant it breaks; Match a piece of the text of
	// its violations that tells it from the others.
	Invariant int
	Match     string
	// Summary says what goes wrong.
	Summary string
}

// matches reports whether v is an instance of d.
func (d Defect) matches(v *Violation) bool {
	return v.Invariant == d.Invariant && strings.Contains(v.What, d.Match)
}

// Known are the defects of the reconciler the simulator found on the day it
// was built, as RELIABILITY.md lists them with seeds.
var Known = []Defect{
	{Issue: 28, Invariant: 2, Match: "says nothing of it",
		Summary: "after a lost or restored Store, links the reconciler made are orphans: Verify does not adopt them, so they keep opening the door after the booking ends, moves or is cancelled"},
	{Issue: 28, Invariant: 3, Match: "second email",
		Summary: "a guest gets a second link and email for one booking: after a lost or restored Store, or after a broken export deleted the link"},
	{Issue: 25, Invariant: 3, Match: "failed in every run",
		Summary: "a create whose every attempt ends in a 5xx (an outcome Kisi leaves unknown) is not parked: it is looked up and sent again at the organization's back-off and by every run the host wakes, up to once a minute"},
	{Issue: 28, Invariant: 3, Match: "before it started",
		Summary: "with Kisi's email-link quota full, a run reports a NextRun in the past (the retry time of a parked link), so a host that runs at NextRun runs without pause"},
	{Issue: 27, Invariant: 4, Match: "which a record explains",
		Summary: "the revoke guard holds cuts whose record says so (a plan or team plan cancelled with its status), judging them like an End moved without a status: above half of the managed access, or counted among the vanished sources"},
	{Issue: 27, Invariant: 4, Match: "a broken export",
		Summary: "the revoke guard lets a broken export cut access in force: records rejected (a duplicated booking, a missing location) or every open plan ended at once, judged on the share of all managed access rather than per location and source kind"},
	{Issue: 25, Invariant: 5, Match: "the report says nothing",
		Summary: "access wanted and not in Kisi with nothing in the report that names it: an intent left unresolved (counted, not named), a change whose earlier failure is not carried into later reports, a role deleted by a stalled process"},
}

// knownDefect returns the known defect v is an instance of, or nil.
func knownDefect(known []Defect, v *Violation) *Defect {
	for i := range known {
		if known[i].matches(v) {
			return &known[i]
		}
	}
	return nil
}
