// Package integration is the integration sketch of the repository's
// README, kept here so that it compiles and is tested: how a platform calls
// kisisync from its own job system, one job per Kisi organization.
//
// The README shows the part between the "sketch" markers verbatim; a test
// checks that the two stay the same.
package integration
