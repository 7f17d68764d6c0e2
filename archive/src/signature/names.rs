//! Who signed: the names in the signer's certificate.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc4519::{CN, COMMON_NAME, GIVEN_NAME, O, SERIAL_NUMBER, SN};
use der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use serde::Serialize;
use x509_cert::Certificate;
use x509_cert::name::Name;

/// The signer as their certificate names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    /// Common name (CN).
    pub common_name: Option<String>,
    /// Given name, when the certificate has one.
    pub given_name: Option<String>,
    /// Surname, when the certificate has one.
    pub surname: Option<String>,
    /// Organization (O).
    pub organization: Option<String>,
    /// The subject's serialNumber as written (`TINIT-RSSMRA80A01H501U` on Italian
    /// qualified certificates).
    pub serial_number: Option<String>,
    /// The Italian fiscal code taken from serialNumber (`TINIT-` prefix removed).
    pub fiscal_code: Option<String>,
    /// The whole subject, RFC 4514.
    pub subject: String,
    /// The issuer, RFC 4514.
    pub issuer: String,
    /// The certificate's serial number, hex.
    pub certificate_serial: String,
}

fn text(value: &der::Any) -> Option<String> {
    if let Ok(s) = value.decode_as::<Utf8StringRef<'_>>() {
        return Some(s.as_str().to_owned());
    }
    if let Ok(s) = value.decode_as::<PrintableStringRef<'_>>() {
        return Some(s.as_str().to_owned());
    }
    if let Ok(s) = value.decode_as::<Ia5StringRef<'_>>() {
        return Some(s.as_str().to_owned());
    }
    value
        .decode_as::<TeletexStringRef<'_>>()
        .ok()
        .map(|s| s.as_str().to_owned())
}

fn first(name: &Name, oids: &[ObjectIdentifier]) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| oids.contains(&atv.oid))
        .and_then(|atv| text(&atv.value))
}

/// The fiscal code in a serialNumber: ETSI EN 319 412-1 `TINIT-<code>`, or a bare
/// 16-character code.
fn fiscal_code(serial: &str) -> Option<String> {
    let code = serial
        .strip_prefix("TINIT-")
        .or_else(|| serial.strip_prefix("IT:"))
        .unwrap_or(serial);
    let plausible = code.len() == 16 && code.bytes().all(|b| b.is_ascii_alphanumeric());
    plausible.then(|| code.to_ascii_uppercase())
}

/// The names of `cert`'s subject.
pub fn signer(cert: &Certificate) -> Signer {
    let subject = &cert.tbs_certificate.subject;
    let serial_number = first(subject, &[SERIAL_NUMBER]);
    Signer {
        common_name: first(subject, &[CN, COMMON_NAME]),
        given_name: first(subject, &[GIVEN_NAME]),
        surname: first(subject, &[SN]),
        organization: first(subject, &[O]),
        fiscal_code: serial_number.as_deref().and_then(fiscal_code),
        serial_number,
        subject: subject.to_string(),
        issuer: cert.tbs_certificate.issuer.to_string(),
        certificate_serial: hex::encode(cert.tbs_certificate.serial_number.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::fiscal_code;

    #[test]
    fn fiscal_codes_come_out_of_serial_numbers() {
        assert_eq!(
            fiscal_code("TINIT-RSSMRA80A01H501U").as_deref(),
            Some("RSSMRA80A01H501U")
        );
        assert_eq!(
            fiscal_code("rssmra80a01h501u").as_deref(),
            Some("RSSMRA80A01H501U")
        );
        assert_eq!(fiscal_code("12345"), None);
    }
}
