//! Validating phone numbers with the shared core (`mpt_core::phone`).

use crate::error::{AppError, AppResult};
use crate::tenant::Tenant;
use mpt_core::phone::{normalize, Region};
use mpt_core::PhoneErrorCode;

/// The region numbers without a country code are read in: the tenant's first allowed
/// country, else the US.
pub fn default_region(tenant: &Tenant) -> Region {
    tenant.allowed_countries.first().and_then(|c| Region::parse(c).ok()).unwrap_or(Region::US)
}

/// Normalizes any human-written number to E.164 (no country check).
pub fn to_e164(tenant: &Tenant, input: &str) -> AppResult<String> {
    normalize(input, default_region(tenant))
        .map(|n| n.e164.as_str().to_string())
        .map_err(|e| AppError::phone_msg(PhoneErrorCode::InvalidNumber, format!("invalid phone number: {e}")))
}

/// Validates a destination an agent may dial: a valid number in an allowed country.
pub fn check_destination(tenant: &Tenant, input: &str) -> AppResult<String> {
    let n = normalize(input, default_region(tenant))
        .map_err(|e| AppError::phone_msg(PhoneErrorCode::InvalidNumber, format!("invalid destination: {e}")))?;
    if !tenant.allowed_countries.is_empty() {
        let region = n.e164.main_region();
        if !tenant.allowed_countries.iter().any(|c| c.eq_ignore_ascii_case(region)) {
            return Err(AppError::phone_msg(
                PhoneErrorCode::CountryNotAllowed,
                format!("calls to region {region} are not allowed for this tenant"),
            ));
        }
    }
    Ok(n.e164.as_str().to_string())
}
