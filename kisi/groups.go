package kisi

import "time"

// Group is a set of doors (locks) with the restrictions that apply to
// everyone who holds a role in it.
type Group struct {
	ID                              int64     `json:"id"`
	Name                            string    `json:"name"`
	Description                     *string   `json:"description"`
	PlaceID                         *int64    `json:"place_id"`
	LoginEnabled                    bool      `json:"login_enabled"`
	GeofenceRestrictionEnabled      bool      `json:"geofence_restriction_enabled"`
	PrimaryDeviceRestrictionEnabled bool      `json:"primary_device_restriction_enabled"`
	ManagedDeviceRestrictionEnabled bool      `json:"managed_device_restriction_enabled"`
	ReaderRestrictionEnabled        bool      `json:"reader_restriction_enabled"`
	TimeRestrictionEnabled          bool      `json:"time_restriction_enabled"`
	TapToAccessRestrictionEnabled   bool      `json:"tap_to_access_restriction_enabled"`
	UsersCount                      int       `json:"users_count"`
	LocksCount                      int       `json:"locks_count"`
	CreatedAt                       time.Time `json:"created_at"`
	UpdatedAt                       time.Time `json:"updated_at"`
}
