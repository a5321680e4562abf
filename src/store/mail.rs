//! Mail bookkeeping for the IMAP source (being written on branch imap): which messages were
//! fetched, keyed on (account, folder, UIDVALIDITY, UID), in the same transaction as their documents.

use async_trait::async_trait;

/// The store's mail side; every `Store` is one.
#[async_trait]
pub trait MailStore: Send + Sync {}

macro_rules! impl_mail_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::mail::MailStore for $store {}
    };
}

pub(crate) use impl_mail_store;
