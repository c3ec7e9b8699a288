// Package reason holds the stable codes of the sentences of an
// access.Explanation: why a member does or does not get into a Kisi group
// at an instant. A host branches on them, translates or counts them, while
// the sentences may be reworded. It imports nothing.
package reason
