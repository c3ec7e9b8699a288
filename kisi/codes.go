package kisi

// ErrorCode is one of Kisi's six-character error codes, found in the "code"
// of error bodies and in the error_code of events (for example of a failed
// unlock). The constants below are the codes Kisi documents.
type ErrorCode string

// Error codes documented by Kisi.
const (
	// CodeAuthLinkInvalid: Authentication link not valid.
	CodeAuthLinkInvalid ErrorCode = "afc507"
	// CodeAccessNotYetValid: Access not yet valid, try later.
	CodeAccessNotYetValid ErrorCode = "f358de"
	// CodeInvalid2FABackupCode: Invalid 2FA backup code.
	CodeInvalid2FABackupCode ErrorCode = "afc546"
	// CodeAccessNoLongerValid: Access no longer valid.
	CodeAccessNoLongerValid ErrorCode = "f35ade"
	// CodeCardNotActivated: Card not activated.
	CodeCardNotActivated ErrorCode = "faa9ff"
	// CodeAccessInvalid: Access invalid.
	CodeAccessInvalid ErrorCode = "f398de"
	// CodeCardNotFound: Card not found.
	CodeCardNotFound ErrorCode = "faa9ef"
	// CodeAccessNotAllowedNow: Access not allowed at this moment, try later.
	CodeAccessNotAllowedNow ErrorCode = "34ffaa"
	// CodeAccessDenied: Access denied.
	CodeAccessDenied ErrorCode = "afc496"
	// CodeElevatorStopPermitError: Error permitting the elevator stop.
	CodeElevatorStopPermitError ErrorCode = "fad334"
	// CodeLinkInvalid: Link invalid.
	CodeLinkInvalid ErrorCode = "f29aef"
	// CodeElevatorStopNotFound: Elevator stop not found.
	CodeElevatorStopNotFound ErrorCode = "fad121"
	// CodeWrongCredentials: Wrong email or password / 2FA pin invalid.
	CodeWrongCredentials ErrorCode = "afc516"
	// CodeElevatorStopNotConfigured: Elevator stop not configured.
	CodeElevatorStopNotConfigured ErrorCode = "fad122"
	// CodeInvalid2FACode: Invalid 2FA verification code.
	CodeInvalid2FACode ErrorCode = "afc536"
	// CodeElevatorStopsLockedDown: Elevator stops locked down.
	CodeElevatorStopsLockedDown ErrorCode = "fad123"
	// Code2FACodeRequired: 2FA verification code required.
	Code2FACodeRequired ErrorCode = "afc526"
	// CodeElevatorStopOnSchedule: Elevator stop was on schedule.
	CodeElevatorStopOnSchedule ErrorCode = "fad124"
	// CodeUnexpected: Unexpected issue.
	CodeUnexpected ErrorCode = "ffffff"
	// CodePlaceLockedDown: Place locked down.
	CodePlaceLockedDown ErrorCode = "fad002"
	// CodeAccessDeniedDevice: Access denied.
	CodeAccessDeniedDevice ErrorCode = "fcd8ef"
	// CodeDoorWithoutController: Door has no assigned Kisi controller.
	CodeDoorWithoutController ErrorCode = "ff420a"
	// CodeAccessDisabled: Access disabled.
	CodeAccessDisabled ErrorCode = "fcd8ff"
	// CodeDoorLockedDown: Door locked down.
	CodeDoorLockedDown ErrorCode = "fad001"
	// CodeCardAlreadyEnrolled: Card with same identifiers already enrolled.
	CodeCardAlreadyEnrolled ErrorCode = "cabbeb"
	// CodeDoorMisconfigured: Door improperly configured.
	CodeDoorMisconfigured ErrorCode = "fad105"
	// CodeAuthorizeBluetooth: Authorize Kisi for Bluetooth.
	CodeAuthorizeBluetooth ErrorCode = "bb4fff"
	// CodeDoorNotFound: Door not found.
	CodeDoorNotFound ErrorCode = "fad10e"
	// CodeNoNearbyReader: No nearby Kisi reader found (enable Bluetooth).
	CodeNoNearbyReader ErrorCode = "bb5bff"
	// CodeDoorUnlockScheduled: Door already scheduled to be unlocked.
	CodeDoorUnlockScheduled ErrorCode = "fad110"
	// CodeEnableBluetooth: Enable Bluetooth.
	CodeEnableBluetooth ErrorCode = "bb4bff"
	// CodeZoneDenied: Access denied by the zone.
	CodeZoneDenied ErrorCode = "fad137"
	// CodeAuthorizeLocation: Authorize Kisi for location services.
	CodeAuthorizeLocation ErrorCode = "a7793f"
	// CodeZoneOverriddenArmed: Third-party zone overridden but still armed.
	CodeZoneOverriddenArmed ErrorCode = "fad146"
	// CodeEnableLocation: Enable location services.
	CodeEnableLocation ErrorCode = "a3799f"
	// CodeEnableLocationServices: Enable location services.
	CodeEnableLocationServices ErrorCode = "a3793f"
	// CodeWirelessLockConnectError: Error connecting to wireless lock.
	CodeWirelessLockConnectError ErrorCode = "fad10f"
	// CodeLinksDisabledForUser: Place disabled all links for you.
	CodeLinksDisabledForUser ErrorCode = "f298cf"
	// CodeWirelessLockNotFound: Error finding wireless lock.
	CodeWirelessLockNotFound ErrorCode = "fad106"
	// CodeLinksNotIncluded: Your access rights for this place do not include links.
	CodeLinksNotIncluded ErrorCode = "f298df"
	// CodeWirelessLockOffline: Wireless lock offline.
	CodeWirelessLockOffline ErrorCode = "fad107"
	// CodeAccessRightInvalid: Your access right is invalid.
	CodeAccessRightInvalid ErrorCode = "f298bf"
	// CodeWirelessUnlockInProgress: Unlock already in progress (wireless lock).
	CodeWirelessUnlockInProgress ErrorCode = "fad112"
	// CodeAppsNotIncluded: Your group's access rights for this place do not include apps.
	CodeAppsNotIncluded ErrorCode = "f01337"
	// CodeControllerUnavailable: Kisi controller unavailable.
	CodeControllerUnavailable ErrorCode = "fac001"
	// CodeControllerUnavailable2: Kisi controller unavailable.
	CodeControllerUnavailable2 ErrorCode = "fac002"
	// CodeNotPrimaryDevice: Device is not the primary one.
	CodeNotPrimaryDevice ErrorCode = "34bd8f"
	// CodeDeviceUnavailable: Kisi device unavailable.
	CodeDeviceUnavailable ErrorCode = "fac003"
	// CodeDeviceUnavailable2: Kisi device unavailable.
	CodeDeviceUnavailable2 ErrorCode = "fac004"
	// CodeCertificateUndecodable: Unable to decode the certificate.
	CodeCertificateUndecodable ErrorCode = "facced"
	// CodeControllerNotConfigured: Controller not yet configured.
	CodeControllerNotConfigured ErrorCode = "fad108"
	// CodeLocationInvalid: Your location is not valid.
	CodeLocationInvalid ErrorCode = "bbb99f"
	// CodeControllerUnhandledError: Controller unhandled error.
	CodeControllerUnhandledError ErrorCode = "ecc123"
	// CodeLockLocationInvalid: Location of the lock is invalid.
	CodeLockLocationInvalid ErrorCode = "bbb93f"
	// CodeControllerFirmwareUpdating: Controller firmware updating, retry in a few seconds.
	CodeControllerFirmwareUpdating ErrorCode = "fbc000"
	// CodeTooFarAway: You are too far away.
	CodeTooFarAway ErrorCode = "a3995f"
	// CodeZoneWithoutController: Zone has no zone controller.
	CodeZoneWithoutController ErrorCode = "aaa345"
	// CodeNotCloseEnough: Not close enough to the door.
	CodeNotCloseEnough ErrorCode = "bb4faa"
	// CodeZoneNotFound: Zone not found.
	CodeZoneNotFound ErrorCode = "fad126"
	// CodeInAppAccessDisabled: In-app access disabled by org; tap phone on reader.
	CodeInAppAccessDisabled ErrorCode = "bbc93f"
	// CodeAlarmControllerUnavailable: Alarm controller unavailable.
	CodeAlarmControllerUnavailable ErrorCode = "fad129"
	// CodeZoneResetError: Error resetting the zone.
	CodeZoneResetError ErrorCode = "adf234"
	// CodeAlarmInViolation: Third-party alarm still in violation.
	CodeAlarmInViolation ErrorCode = "fad144"
	// CodeIntegrationPartnerError: Integration partner error.
	CodeIntegrationPartnerError ErrorCode = "abbb11"
	// CodeIntegrationResourceNotFound: Integration partner resource not found.
	CodeIntegrationResourceNotFound ErrorCode = "abcc11"
	// CodeIntegrationCommunicationFailed: Communication with integration partner failed.
	CodeIntegrationCommunicationFailed ErrorCode = "abdd11"
	// CodeIntegrationAuthorizationFailed: Authorization with integration partner failed.
	CodeIntegrationAuthorizationFailed ErrorCode = "abee11"
	// CodeIntegrationNotAcceptable: Integration not acceptable.
	CodeIntegrationNotAcceptable ErrorCode = "abfe11"
	// CodeIntegrationDisabled: Integration disabled.
	CodeIntegrationDisabled ErrorCode = "abff11"
)

// Description returns Kisi's meaning of the code, or "" for an unknown code.
// It is a table, one case per documented code, hence its length.
func (c ErrorCode) Description() string {
	switch c {
	case CodeAuthLinkInvalid:
		return "Authentication link not valid"
	case CodeAccessNotYetValid:
		return "Access not yet valid, try later"
	case CodeInvalid2FABackupCode:
		return "Invalid 2FA backup code"
	case CodeAccessNoLongerValid:
		return "Access no longer valid"
	case CodeCardNotActivated:
		return "Card not activated"
	case CodeAccessInvalid:
		return "Access invalid"
	case CodeCardNotFound:
		return "Card not found"
	case CodeAccessNotAllowedNow:
		return "Access not allowed at this moment, try later"
	case CodeAccessDenied:
		return "Access denied"
	case CodeElevatorStopPermitError:
		return "Error permitting the elevator stop"
	case CodeLinkInvalid:
		return "Link invalid"
	case CodeElevatorStopNotFound:
		return "Elevator stop not found"
	case CodeWrongCredentials:
		return "Wrong email or password / 2FA pin invalid"
	case CodeElevatorStopNotConfigured:
		return "Elevator stop not configured"
	case CodeInvalid2FACode:
		return "Invalid 2FA verification code"
	case CodeElevatorStopsLockedDown:
		return "Elevator stops locked down"
	case Code2FACodeRequired:
		return "2FA verification code required"
	case CodeElevatorStopOnSchedule:
		return "Elevator stop was on schedule"
	case CodeUnexpected:
		return "Unexpected issue"
	case CodePlaceLockedDown:
		return "Place locked down"
	case CodeAccessDeniedDevice:
		return "Access denied"
	case CodeDoorWithoutController:
		return "Door has no assigned Kisi controller"
	case CodeAccessDisabled:
		return "Access disabled"
	case CodeDoorLockedDown:
		return "Door locked down"
	case CodeCardAlreadyEnrolled:
		return "Card with same identifiers already enrolled"
	case CodeDoorMisconfigured:
		return "Door improperly configured"
	case CodeAuthorizeBluetooth:
		return "Authorize Kisi for Bluetooth"
	case CodeDoorNotFound:
		return "Door not found"
	case CodeNoNearbyReader:
		return "No nearby Kisi reader found (enable Bluetooth)"
	case CodeDoorUnlockScheduled:
		return "Door already scheduled to be unlocked"
	case CodeEnableBluetooth:
		return "Enable Bluetooth"
	case CodeZoneDenied:
		return "Access denied by the zone"
	case CodeAuthorizeLocation:
		return "Authorize Kisi for location services"
	case CodeZoneOverriddenArmed:
		return "Third-party zone overridden but still armed"
	case CodeEnableLocation:
		return "Enable location services"
	case CodeEnableLocationServices:
		return "Enable location services"
	case CodeWirelessLockConnectError:
		return "Error connecting to wireless lock"
	case CodeLinksDisabledForUser:
		return "Place disabled all links for you"
	case CodeWirelessLockNotFound:
		return "Error finding wireless lock"
	case CodeLinksNotIncluded:
		return "Your access rights for this place do not include links"
	case CodeWirelessLockOffline:
		return "Wireless lock offline"
	case CodeAccessRightInvalid:
		return "Your access right is invalid"
	case CodeWirelessUnlockInProgress:
		return "Unlock already in progress (wireless lock)"
	case CodeAppsNotIncluded:
		return "Your group's access rights for this place do not include apps"
	case CodeControllerUnavailable:
		return "Kisi controller unavailable"
	case CodeControllerUnavailable2:
		return "Kisi controller unavailable"
	case CodeNotPrimaryDevice:
		return "Device is not the primary one"
	case CodeDeviceUnavailable:
		return "Kisi device unavailable"
	case CodeDeviceUnavailable2:
		return "Kisi device unavailable"
	case CodeCertificateUndecodable:
		return "Unable to decode the certificate"
	case CodeControllerNotConfigured:
		return "Controller not yet configured"
	case CodeLocationInvalid:
		return "Your location is not valid"
	case CodeControllerUnhandledError:
		return "Controller unhandled error"
	case CodeLockLocationInvalid:
		return "Location of the lock is invalid"
	case CodeControllerFirmwareUpdating:
		return "Controller firmware updating, retry in a few seconds"
	case CodeTooFarAway:
		return "You are too far away"
	case CodeZoneWithoutController:
		return "Zone has no zone controller"
	case CodeNotCloseEnough:
		return "Not close enough to the door"
	case CodeZoneNotFound:
		return "Zone not found"
	case CodeInAppAccessDisabled:
		return "In-app access disabled by org; tap phone on reader"
	case CodeAlarmControllerUnavailable:
		return "Alarm controller unavailable"
	case CodeZoneResetError:
		return "Error resetting the zone"
	case CodeAlarmInViolation:
		return "Third-party alarm still in violation"
	case CodeIntegrationPartnerError:
		return "Integration partner error"
	case CodeIntegrationResourceNotFound:
		return "Integration partner resource not found"
	case CodeIntegrationCommunicationFailed:
		return "Communication with integration partner failed"
	case CodeIntegrationAuthorizationFailed:
		return "Authorization with integration partner failed"
	case CodeIntegrationNotAcceptable:
		return "Integration not acceptable"
	case CodeIntegrationDisabled:
		return "Integration disabled"
	}
	return ""
}

// LikelyCause returns the access setting that most likely produced the code
// when it explains a failed unlock, or "" when no setting is known to cause
// it. The mapping is an inference from Kisi's descriptions, not documented
// by Kisi.
func (c ErrorCode) LikelyCause() string {
	switch c {
	case CodeAccessNotYetValid:
		return "the role assignment or link is not valid yet (valid_from is in the future)"
	case CodeAccessNoLongerValid:
		return "the role assignment or link has expired (valid_until has passed)"
	case CodeAccessNotAllowedNow:
		return "a time restriction or schedule of the group"
	case CodeAccessDisabled:
		return "the user has access_enabled=false"
	case CodeAppsNotIncluded:
		return "the group has login_enabled=false (no app access)"
	case CodeNotPrimaryDevice:
		return "the group requires the primary device"
	case CodeTooFarAway:
		return "the geofence restriction"
	case CodeLocationInvalid:
		return "the geofence restriction"
	case CodeNotCloseEnough:
		return "the reader proximity restriction"
	case CodeInAppAccessDisabled:
		return "the tap-to-access restriction"
	case CodeDoorLockedDown:
		return "a lockdown of the door"
	case CodePlaceLockedDown:
		return "a lockdown of the place"
	case CodeControllerUnavailable:
		return "a hardware problem (transient)"
	case CodeControllerUnavailable2:
		return "a hardware problem (transient)"
	case CodeDeviceUnavailable:
		return "a hardware problem (transient)"
	case CodeDeviceUnavailable2:
		return "a hardware problem (transient)"
	case CodeControllerUnhandledError:
		return "a hardware problem (transient)"
	case CodeControllerFirmwareUpdating:
		return "a hardware problem (transient)"
	}
	return ""
}

// Known reports whether Kisi documents the code.
func (c ErrorCode) Known() bool { return c.Description() != "" }

// String returns the code followed by its description when it is known,
// e.g. "f358de (Access not yet valid, try later)".
func (c ErrorCode) String() string {
	if d := c.Description(); d != "" {
		return string(c) + " (" + d + ")"
	}
	return string(c)
}
