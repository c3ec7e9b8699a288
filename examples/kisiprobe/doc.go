// Command kisiprobe settles, against a real Kisi organization, the
// behaviours Kisi does not document and the fake (kisi/kisitest) therefore
// models as options. Someone with a Kisi account runs it once against a
// sandbox organization:
//
//	KISI_API_KEY=... go run ./examples/kisiprobe -write
//
// It creates a place-less group of its own (named kisiprobe-<unix time>,
// see -name), a managed user (send_emails false, so Kisi emails nobody) and
// a few role assignments in that group, checks each unknown, deletes
// everything it created (also after a failure, or an interrupt with Ctrl-C,
// with a fresh context) and prints, per unknown, which setting of the
// fake's option matches the organization:
//
//   - X-Collection-Range of an empty list: WithStarEmptyRange;
//   - the stored precision of valid_from/valid_until: WithValidityPrecision;
//   - PATCH of a role's window: WithPatchableValidity;
//   - the answer to a duplicate role and its error key:
//     WithDuplicateRoleErrorKey;
//   - a window on an organization role (the lowest one, observer, given to
//     the probe's user for the moment of the check): WithNonGroupValidityRejected;
//   - ?email= against ?query= on GET /users: WithUserEmailFilter;
//   - the deprecated confirmed key of users: WithConfirmedField;
//   - whether an expired email link still counts toward the quota:
//     WithExpiredLinksCounted. This one fills the quota with email links
//     (Kisi sends each an email, to -email-domain, example.com by
//     default), so it runs only with -link-quota set to the organization's
//     quota.
//
// Without -write, or without KISI_API_KEY, it refuses to run. The exit code
// is 0 when every check ran, 1 when one failed or cleanup did not finish
// (the message names what to delete by hand), 2 for bad usage.
//
// The checks take a *kisi.Client, so the tests run them against kisitest
// servers under both settings of each option and require the probe to name
// the setting in force.
package main
