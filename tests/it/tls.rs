//! Certificates made in the test (rcgen): a self-signed certificate for 127.0.0.1 and localhost,
//! written as PEM for the side that trusts it (`ca_file`, `sslrootcert=`), and a TLS acceptor for
//! the test servers that present it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls;

/// A self-signed certificate and its key, as PEM files in a folder.
pub struct SelfSigned {
    pub cert_pem: String,
    pub key_pem: String,
    /// The certificate, to be trusted by clients (`ca_file`, `sslrootcert=`).
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

impl SelfSigned {
    /// Makes one for 127.0.0.1 and localhost and writes `cert.pem` and `key.pem` into `dir`.
    pub fn new(dir: &Path) -> SelfSigned {
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let ck = rcgen::generate_simple_self_signed(names).expect("rcgen makes a certificate");
        let cert_pem = ck.cert.pem();
        let key_pem = ck.key_pair.serialize_pem();
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        std::fs::write(&cert_path, &cert_pem).unwrap();
        std::fs::write(&key_path, &key_pem).unwrap();
        SelfSigned {
            cert_pem,
            key_pem,
            cert_path,
            key_path,
        }
    }

    /// A TLS acceptor presenting this certificate.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = vec![CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}
