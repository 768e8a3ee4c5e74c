import { domainToASCII } from 'node:url';

/**
 * The destination a recipient's mail is scheduled under: the domain of the address, lowercased and
 * in its ASCII (punycode) form, so `Bob@Exämple.com` and `bob@xn--exmple-cua.com` queue together.
 * It is the unit of traffic shaping: connections, rates and the circuit breaker are per destination.
 */
export function destinationOf(email: string): string {
  const at = email.lastIndexOf('@');
  const domain = (at === -1 ? '' : email.slice(at + 1)).trim().toLowerCase().replace(/\.$/, '');
  if (/^[\x21-\x7e]*$/.test(domain)) return domain;
  // domainToASCII returns '' for a name it cannot encode; keep the lowercased original then.
  return domainToASCII(domain) || domain;
}
