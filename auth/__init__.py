"""Identity: tenants, principals, scopes, OAuth2 client credentials, signing keys, user sign-in.

Tokens are short-lived JWT access tokens (RFC 9068 profile) signed with a rotating ES256 key whose
private part is stored sealed (AES-GCM) in the database; secrets and passwords are argon2 hashes.
"""
