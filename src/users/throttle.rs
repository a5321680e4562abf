//! When a sign-in is refused before its password is even checked: after `ACCOUNT_LIMIT`
//! failures on one account, or `ADDRESS_LIMIT` from one IP address, within `WINDOW`, until the
//! oldest of those failures leaves the window. The store counts the failures; this is the rule.

use chrono::{DateTime, Duration, Utc};

/// Failed sign-ins of one account before it is held.
pub const ACCOUNT_LIMIT: usize = 5;
/// Failed sign-ins from one address before it is held (an office shares one address).
pub const ADDRESS_LIMIT: usize = 20;
/// How far back failures count.
pub const WINDOW: Duration = Duration::minutes(15);

/// Until when a sign-in is held, given the failures (times) of the account and of the address
/// within the window, newest last. None: it may go ahead.
pub fn held_until(
    account: &[DateTime<Utc>],
    address: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let until = |fails: &[DateTime<Utc>], limit: usize| {
        let recent: Vec<&DateTime<Utc>> = fails.iter().filter(|t| now - **t < WINDOW).collect();
        (recent.len() >= limit).then(|| *recent[recent.len() - limit] + WINDOW)
    };
    [until(account, ACCOUNT_LIMIT), until(address, ADDRESS_LIMIT)]
        .into_iter()
        .flatten()
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_hold_an_account_for_the_window() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let fails: Vec<_> = (0..5).map(|i| t0 + Duration::minutes(i)).collect();
        assert_eq!(
            held_until(&fails[..4], &[], t0 + Duration::minutes(5)),
            None
        );
        let now = t0 + Duration::minutes(5);
        assert_eq!(held_until(&fails, &[], now), Some(t0 + WINDOW));
        assert_eq!(
            held_until(&fails, &[], t0 + WINDOW + Duration::seconds(1)),
            None
        );
        let many: Vec<_> = (0..20).map(|i| t0 + Duration::seconds(i)).collect();
        assert!(
            held_until(&[], &many, now).is_some(),
            "one address, many accounts"
        );
    }
}
