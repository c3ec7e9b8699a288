package kisi

// Ref is the small embedded object Kisi uses to point at another resource.
type Ref struct {
	ID           int64  `json:"id"`
	ResourceType string `json:"resource_type"`
	Name         string `json:"name,omitempty"`
	Email        string `json:"email,omitempty"`
}

// ListOptions are the offset pagination parameters every list endpoint takes.
// Zero values use Kisi's defaults.
type ListOptions struct {
	Limit  int `url:"limit,omitempty"`
	Offset int `url:"offset,omitempty"`
}

// Response wraps the HTTP response of one call with what Kisi reports in its
// headers.
type Response struct {
	// Total is the collection size from X-Collection-Range, or -1 if absent.
	Total int
	// NextOffset is the offset of the next page, or 0 when this was the last.
	NextOffset int
}
