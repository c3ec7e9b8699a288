// Command kisiprobe settles, against a real Kisi organization, the
// behaviours Kisi does not document and the fake (kisi/kisitest) therefore
// models as options. Someone with a Kisi account runs it against a sandbox
// organization, first read only:
//
//	KISI_API_KEY=... go run ./examples/kisiprobe
//
// It prints the organization the key belongs to (name, domain, id, the
// key's user) and the checks that reading alone settles: the
// X-Collection-Range of an empty list, whether places carry Kisi's default
// group "Entire place", and whether users still carry the deprecated
// confirmed key. Nothing is written.
//
//	KISI_API_KEY=... go run ./examples/kisiprobe -write
//
// then shows the organization again and asks for its domain to be typed
// before it writes (-yes skips the question). It creates a place-less
// group of its own (named kisiprobe-<unix time>, see -name), a managed
// user (send_emails false, so Kisi emails nobody) and a few role
// assignments in that group, checks each unknown, deletes everything it
// created (also after a failure, or an interrupt with Ctrl-C, with a fresh
// context whose time grows with what was created; objects whose create
// answer was lost are found by the probe's name and email and deleted
// too) and prints, per unknown, which setting of the fake's option matches
// the organization:
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
//   - the answer to a user create with a taken email (422 on email, or 200
//     with the existing user): WithExistingUserOnDuplicateEmail;
//   - whether an expired email link still counts toward the quota:
//     WithExpiredLinksCounted. This one fills the quota with email links
//     (Kisi sends each an email, to -email-domain, example.com by
//     default), so it runs only with -link-quota set to the organization's
//     quota.
//
// The quota check prints the refusal Kisi gives (status and fields) as its
// evidence. Without KISI_API_KEY it refuses to run. The exit code is 0
// when every check ran, 1 when one failed or cleanup did not finish (the
// message names what to delete by hand), 2 for bad usage or a write not
// confirmed.
//
// The checks take a *kisi.Client, so the tests run them against kisitest
// servers under both settings of each option and require the probe to name
// the setting in force.
package main
