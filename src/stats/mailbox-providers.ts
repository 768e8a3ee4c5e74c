/**
 * Recipient domains grouped by the mailbox provider behind them, as SendGrid's mailbox provider
 * statistics group them (SendGrid docs, "Mailbox Provider Statistics": hotmail.com, outlook.com,
 * msn.com and live.com are one provider). Country variants (yahoo.co.uk, hotmail.fr) follow their
 * family; every other domain is `Other`.
 */
export const MAILBOX_PROVIDERS = ['Gmail', 'Microsoft Outlook Live', 'Yahoo', 'AOL', 'Apple iCloud', 'Other'] as const;
export type MailboxProvider = (typeof MAILBOX_PROVIDERS)[number];

const EXACT = new Map<string, MailboxProvider>([
  ['gmail.com', 'Gmail'],
  ['googlemail.com', 'Gmail'],
  ['msn.com', 'Microsoft Outlook Live'],
  ['passport.com', 'Microsoft Outlook Live'],
  ['ymail.com', 'Yahoo'],
  ['rocketmail.com', 'Yahoo'],
  ['aim.com', 'AOL'],
  ['icloud.com', 'Apple iCloud'],
  ['me.com', 'Apple iCloud'],
  ['mac.com', 'Apple iCloud'],
]);

/** First label → provider, for `<label>.<tld>`, `<label>.co.<cc>` and `<label>.com.<cc>`. */
const FAMILIES = new Map<string, MailboxProvider>([
  ['hotmail', 'Microsoft Outlook Live'],
  ['outlook', 'Microsoft Outlook Live'],
  ['live', 'Microsoft Outlook Live'],
  ['windowslive', 'Microsoft Outlook Live'],
  ['yahoo', 'Yahoo'],
  ['aol', 'AOL'],
]);
const COUNTRY_SUFFIX = /^(?:com|net|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})$/;

/** The mailbox provider of a recipient address (or bare domain); `Other` when not one of the known ones. */
export function mailboxProviderOf(address: string): MailboxProvider {
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '');
  const exact = EXACT.get(domain);
  if (exact) return exact;
  const dot = domain.indexOf('.');
  if (dot > 0) {
    const family = FAMILIES.get(domain.slice(0, dot));
    if (family && COUNTRY_SUFFIX.test(domain.slice(dot + 1))) return family;
  }
  return 'Other';
}

/** The provider a caller named, matched without regard to case; null when unknown. */
export function findMailboxProvider(name: string): MailboxProvider | null {
  const lower = name.trim().toLowerCase();
  return MAILBOX_PROVIDERS.find((p) => p.toLowerCase() === lower) ?? null;
}
