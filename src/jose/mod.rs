//! Strict JOSE: compact JWE (RSA-OAEP-256 + A256GCM) and JWS (PS512) on aws-lc-rs.
