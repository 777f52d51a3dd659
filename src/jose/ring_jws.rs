//! josekit signers and verifiers whose arithmetic is ring's.
//!
//! josekit does the JOSE (headers, serialization, the `alg`/`kid` checks on decode); these
//! only compute and check the signature bytes. Why: josekit's own ES256/RS256 go through
//! OpenSSL 3's EVP layer, which fetches the algorithm and builds a context on every call —
//! measured on the bench machine at 2–3× the cost of the same signature in ring (see
//! BENCHMARKS.md), and signing is most of the CPU of a client-credentials grant.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::ec::EcKeyPair as JosekitEcKeyPair;
use josekit::jwk::alg::rsa::RsaKeyPair as JosekitRsaKeyPair;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{JwsAlgorithm, JwsSigner, JwsVerifier, ES256, RS256};
use josekit::JoseError;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use std::sync::Arc;

/// Length in bytes of an ES256 signature (R || S, RFC 7518 §3.4).
const ES256_SIGNATURE_LEN: usize = 64;

fn invalid_key(e: impl std::fmt::Display) -> JoseError {
    JoseError::InvalidKeyFormat(anyhow::anyhow!("{e}"))
}

fn invalid_signature() -> JoseError {
    JoseError::InvalidSignature(anyhow::anyhow!("signature does not verify"))
}

/// ES256 with ring's P-256.
#[derive(Clone)]
pub struct Es256Signer {
    key: Arc<EcdsaKeyPair>,
    rng: SystemRandom,
    kid: String,
}

impl std::fmt::Debug for Es256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("Es256Signer")
            .field("kid", &self.kid)
            .finish()
    }
}

impl Es256Signer {
    pub fn new(pair: &JosekitEcKeyPair, kid: &str) -> Result<Self, JoseError> {
        let rng = SystemRandom::new();
        // ring takes the raw scalar and point: the JWK members, not josekit's PKCS#8 (which
        // carries the curve parameters inside the ECPrivateKey, an encoding ring refuses).
        let key = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &jwk_bytes(&pair.to_jwk_private_key(), "d")?,
            &uncompressed_point(&pair.to_jwk_public_key())?,
            &rng,
        )
        .map_err(invalid_key)?;
        Ok(Es256Signer {
            key: Arc::new(key),
            rng,
            kid: kid.to_string(),
        })
    }
}

/// One base64url member of a JWK, decoded.
fn jwk_bytes(jwk: &Jwk, name: &str) -> Result<Vec<u8>, JoseError> {
    let text = jwk
        .parameter(name)
        .and_then(|v| v.as_str())
        .ok_or_else(|| invalid_key(format!("key without {name}")))?;
    URL_SAFE_NO_PAD.decode(text).map_err(invalid_key)
}

/// SEC 1 §2.3.3 uncompressed point of an EC JWK: 0x04 || X || Y.
fn uncompressed_point(jwk: &Jwk) -> Result<Vec<u8>, JoseError> {
    let mut point = vec![0x04];
    point.extend(jwk_bytes(jwk, "x")?);
    point.extend(jwk_bytes(jwk, "y")?);
    Ok(point)
}

impl JwsSigner for Es256Signer {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &ES256
    }

    fn key_id(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn signature_len(&self) -> usize {
        ES256_SIGNATURE_LEN
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.key
            .sign(&self.rng, message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|e| JoseError::InvalidSignature(anyhow::anyhow!("{e}")))
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

/// ES256 verification with ring's P-256, against the uncompressed public point.
#[derive(Debug, Clone)]
pub struct Es256Verifier {
    point: Arc<[u8]>,
    kid: String,
}

impl Es256Verifier {
    pub fn new(pair: &JosekitEcKeyPair, kid: &str) -> Result<Self, JoseError> {
        Ok(Es256Verifier {
            point: uncompressed_point(&pair.to_jwk_public_key())?.into(),
            kid: kid.to_string(),
        })
    }
}

impl JwsVerifier for Es256Verifier {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &ES256
    }

    fn key_id(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.point[..])
            .verify(message, signature)
            .map_err(|_| invalid_signature())
    }

    fn box_clone(&self) -> Box<dyn JwsVerifier> {
        Box::new(self.clone())
    }
}

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) with ring.
#[derive(Clone)]
pub struct Rs256Signer {
    key: Arc<RsaKeyPair>,
    rng: SystemRandom,
    kid: String,
}

impl std::fmt::Debug for Rs256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rs256Signer")
            .field("kid", &self.kid)
            .finish()
    }
}

impl Rs256Signer {
    pub fn new(pair: &JosekitRsaKeyPair, kid: &str) -> Result<Self, JoseError> {
        let key = RsaKeyPair::from_pkcs8(&pair.to_der_private_key()).map_err(invalid_key)?;
        Ok(Rs256Signer {
            key: Arc::new(key),
            rng: SystemRandom::new(),
            kid: kid.to_string(),
        })
    }
}

impl JwsSigner for Rs256Signer {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &RS256
    }

    fn key_id(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn signature_len(&self) -> usize {
        self.key.public().modulus_len()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .map_err(|e| JoseError::InvalidSignature(anyhow::anyhow!("{e}")))?;
        Ok(signature)
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

/// RS256 verification with ring, against the public modulus and exponent.
#[derive(Debug, Clone)]
pub struct Rs256Verifier {
    n: Arc<[u8]>,
    e: Arc<[u8]>,
    kid: String,
}

impl Rs256Verifier {
    pub fn new(pair: &JosekitRsaKeyPair, kid: &str) -> Result<Self, JoseError> {
        let public = pair.to_jwk_public_key();
        Ok(Rs256Verifier {
            n: jwk_bytes(&public, "n")?.into(),
            e: jwk_bytes(&public, "e")?.into(),
            kid: kid.to_string(),
        })
    }
}

impl JwsVerifier for Rs256Verifier {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &RS256
    }

    fn key_id(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        RsaPublicKeyComponents {
            n: &self.n[..],
            e: &self.e[..],
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(|_| invalid_signature())
    }

    fn box_clone(&self) -> Box<dyn JwsVerifier> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signer, our verifier for its key, and josekit's own verifier for its key.
    type Case = (
        Box<dyn JwsSigner>,
        Box<dyn JwsVerifier>,
        Box<dyn JwsVerifier>,
    );

    /// Each ring signer's signature verifies with josekit's own (OpenSSL) verifier and with
    /// the ring verifier, and a changed message does not.
    #[test]
    fn ring_signatures_verify_both_ways() {
        let ec = ES256.generate_key_pair().expect("ec key");
        let rsa = RS256.generate_key_pair(2048).expect("rsa key");
        let cases: Vec<Case> = vec![
            (
                Box::new(Es256Signer::new(&ec, "ec").expect("signer")),
                Box::new(Es256Verifier::new(&ec, "ec").expect("verifier")),
                Box::new(
                    ES256
                        .verifier_from_jwk(&ec.to_jwk_public_key())
                        .expect("josekit"),
                ),
            ),
            (
                Box::new(Rs256Signer::new(&rsa, "rsa").expect("signer")),
                Box::new(Rs256Verifier::new(&rsa, "rsa").expect("verifier")),
                Box::new(
                    RS256
                        .verifier_from_jwk(&rsa.to_jwk_public_key())
                        .expect("josekit"),
                ),
            ),
        ];
        for (signer, ours, josekit) in cases {
            let signature = signer.sign(b"header.payload").expect("sign");
            assert_eq!(signature.len(), signer.signature_len());
            ours.verify(b"header.payload", &signature)
                .expect("ring verifies");
            josekit
                .verify(b"header.payload", &signature)
                .expect("josekit verifies");
            assert!(ours.verify(b"header.payloaD", &signature).is_err());
            assert!(josekit.verify(b"header.payloaD", &signature).is_err());
        }
    }
}
