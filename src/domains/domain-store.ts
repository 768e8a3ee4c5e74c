/** The two DKIM signing algorithms Herald generates keys for (RFC 6376 §3.3, RFC 8463). */
export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** A domain's DKIM key as APIs show it: the public half only. */
export interface DkimPublicKey {
  algorithm: DkimAlgorithm;
  /** The selector this key is published under: `<selector>._domainkey.<domain>`. */
  selector: string;
  /** The `p=` value: base64 of the SPKI DER (RSA) or of the raw 32-byte key (Ed25519, RFC 8463 §4.2). */
  publicKey: string;
}

/** A key pair as it is stored; the private half never leaves the store but through `signingKeys`. */
export interface NewDkimKey extends DkimPublicKey {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
}

/** What a signer needs for one signature. */
export interface DkimSigningKey {
  domain: string;
  selector: string;
  privateKeyPem: string;
  algorithm: DkimAlgorithm;
}

/** A sending domain of one account, SendGrid's "authenticated domain". */
export interface SendingDomain {
  /** A positive integer, as SendGrid's domain ids. */
  id: number;
  accountId: string;
  /** Lowercase, no trailing dot. */
  domain: string;
  /** The base selector; each key's own selector derives from it. */
  selector: string;
  /** True once a check found the DKIM records published as given. */
  valid: boolean;
  /** Epoch ms of the last check; null before the first. */
  validatedAt: number | null;
  /** What the last check found per record (`dkim1`, `spf`, ...); {} before the first. */
  lastCheck: Record<string, RecordStatus>;
  /** Epoch ms. */
  createdAt: number;
  /** RSA first, then Ed25519. */
  keys: DkimPublicKey[];
}

/** One record's outcome in a check; `reason` says why it does not match (null when it does). */
export interface RecordStatus {
  valid: boolean;
  reason: string | null;
}

export interface NewSendingDomain {
  domain: string;
  selector: string;
  keys: NewDkimKey[];
}

/**
 * The sending-domains port. Every verb takes the account and sees only that account's domains: a
 * domain of another account is absent (null / false), never forbidden.
 */
export interface DomainStore {
  /** `'duplicate'` when the account has this domain already, `'limit'` when it holds `maxDomains`. */
  create(accountId: string, input: NewSendingDomain, maxDomains: number): Promise<SendingDomain | 'duplicate' | 'limit'>;
  get(accountId: string, id: number): Promise<SendingDomain | null>;
  findByName(accountId: string, domain: string): Promise<SendingDomain | null>;
  /** Oldest first. */
  list(accountId: string): Promise<SendingDomain[]>;
  /** Deletes the domain with its keys; false when there is none. */
  delete(accountId: string, id: number): Promise<boolean>;
  /** Records the outcome of a DNS check: whether the domain may sign, and each record's status. */
  markChecked(accountId: string, id: number, check: { valid: boolean; records: Record<string, RecordStatus>; at: number }): Promise<SendingDomain | null>;
  /** The private keys of the account's domain `domain` when it is valid; [] otherwise. */
  signingKeys(accountId: string, domain: string): Promise<DkimSigningKey[]>;
}
