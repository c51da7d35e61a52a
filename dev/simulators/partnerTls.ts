import type { TestTlsOptions } from './tls';

/**
 * A partner whose certificate does not validate: self-signed (not issued by dev/certs/ca.pem, which the
 * tests trust), for 127.0.0.1 and localhost, valid 2000-2100 so that only its issuer is wrong. Clients
 * refuse it with DEPTH_ZERO_SELF_SIGNED_CERT. Test material only: the key protects nothing.
 *
 * Made with OpenSSL 3.0 (`openssl ca -selfsign -startdate 20000101000000Z -enddate 21000101000000Z`,
 * P-256 key, SAN IP:127.0.0.1 DNS:localhost, serverAuth); kept inline so no file has to be found.
 */
const SELF_SIGNED_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg9UVsnXpYkpqOnafV
+hrkYE6fwh8ovcOJg7yVKBYGIVahRANCAATBbP7IOHW91HfqeQb4lGU0xOXB/14o
3LCIp13i7rR4pvkOxhXsMwqw7QFimNvGzBDrUcIG4whjNsr5zGsuJByM
-----END PRIVATE KEY-----
`;

const SELF_SIGNED_CERT = `-----BEGIN CERTIFICATE-----
MIIBtTCCAVugAwIBAgIBATAKBggqhkjOPQQDAjAqMSgwJgYDVQQDDB91bnRydXN0
ZWQgcGFydG5lciAoc2VsZi1zaWduZWQpMCAXDTAwMDEwMTAwMDAwMFoYDzIxMDAw
MTAxMDAwMDAwWjAqMSgwJgYDVQQDDB91bnRydXN0ZWQgcGFydG5lciAoc2VsZi1z
aWduZWQpMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwWz+yDh1vdR36nkG+JRl
NMTlwf9eKNywiKdd4u60eKb5DsYV7DMKsO0BYpjbxswQ61HCBuMIYzbK+cxrLiQc
jKNwMG4wGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxob3N0MAwGA1UdEwEB/wQCMAAw
DgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMB0GA1UdDgQWBBQ9
8EQt0NHYQKA1GI+O7THF1eip2TAKBggqhkjOPQQDAgNIADBFAiAApAxFKsvTK9FW
VdsVz06xOPY25mELpXPD0wZyJVJfRQIhAMouhfvrOKa4j8a9h7NDkxRB5VIR9VSK
WQjMozwE8kFY
-----END CERTIFICATE-----
`;

/** Certificate and key a partner simulator serves to be refused (`startPartnerSimulator({ tls: untrustedTlsOptions() })`). */
export function untrustedTlsOptions(): TestTlsOptions {
  return { cert: Buffer.from(SELF_SIGNED_CERT), key: Buffer.from(SELF_SIGNED_KEY) };
}
