// Package reason holds the stable codes of the sentences of an
// access.Explanation: why a member does or does not get into a Kisi group
// at an instant. A host branches on them, translates or counts them, while
// the sentences may be reworded. It imports nothing.
//
// # Usage
//
//	x, _ := access.Explain(snapshot, m, policy, "m-42", now) // the error lists rejected records
//	for _, g := range x.Groups {
//		switch g.ReasonCode {
//		case reason.PlanPending:
//			// offer to activate the plan
//		case reason.ResourceNotMapped, reason.PlanNotMapped:
//			// link to the integration's mapping settings
//		default:
//			// show g.Reason, the sentence
//		}
//	}
//
// Every [Code] value is a snake_case string that stays the same across
// releases; new codes may be added, so a switch needs a default.
package reason
