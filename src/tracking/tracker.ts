import type { SigningKeys } from '../ops/signing-keys.js';
import type { MailRequest } from '../message/mail-request.js';
import type { ComposeTracking } from '../message/compose.js';
import { encodeToken, MAX_TRACKED_URL_BYTES } from './tracking-token.js';
import type { TrackingSettings, TrackingSettingsStore } from './tracking-settings.js';
import { fillSubscriptionHtml, fillSubscriptionText, insertBeforeBodyEnd, openPixel, rewriteHtmlLinks, rewriteTextLinks } from './body-rewrite.js';

/** What tracking one message gets: the account's settings with the message's own on top. */
export interface TrackingPlan {
  open: boolean;
  openTag: string | null;
  click: boolean;
  clickText: boolean;
  subscription: boolean;
  subscriptionHtml: string;
  subscriptionText: string;
  subscriptionTag: string | null;
  /** Where the footer link goes instead of Herald's page ('' for Herald's). */
  subscriptionUrl: string;
  /** RFC 8058 one-click List-Unsubscribe headers: mail of an unsubscribe group, or with subscription tracking. */
  listUnsubscribe: boolean;
}

/** Resolves what applies to a message (SendGrid: the message's tracking_settings override the account's). Null when nothing does. */
export function trackingPlan(account: TrackingSettings, request: MailRequest): TrackingPlan | null {
  const own = request.tracking ?? {};
  const open = own.open?.enable ?? account.open.enabled;
  const click = own.click?.enable ?? account.click.enabled;
  const clickText = click && (own.click?.enableText ?? account.click.enableText);
  const subscription = own.subscription?.enable ?? account.subscription.enabled;
  const listUnsubscribe = request.asmGroupId !== undefined || subscription;
  if (!open && !click && !subscription && !listUnsubscribe) return null;
  return {
    open,
    openTag: own.open?.substitutionTag ?? null,
    click,
    clickText,
    subscription,
    subscriptionHtml: own.subscription?.html ?? account.subscription.htmlContent,
    subscriptionText: own.subscription?.text ?? account.subscription.plainContent,
    subscriptionTag: own.subscription?.substitutionTag ?? (account.subscription.replace || null),
    subscriptionUrl: account.subscription.url,
    listUnsubscribe,
  };
}

/**
 * Makes the per-message tracking that composing applies: signed links for the open pixel, each
 * clicked link and unsubscribing, pointing at `baseUrl` (the tracking role's public address).
 */
export class Tracker {
  private readonly baseUrl: string;
  /**
   * Each account's settings for SETTINGS_TTL_MS: a burst of mail costs one read of them, not one per
   * message (a round trip to PostgreSQL in cluster mode). A change applies within that time.
   */
  private readonly cached = new Map<string, { at: number; settings: Promise<TrackingSettings> }>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly settings: TrackingSettingsStore,
    baseUrl: string,
    private readonly now: () => number = Date.now,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** The tracking of one message, or null when none applies (it is then composed as before, shared with alike messages). */
  async forMessage(message: { id: string; accountId: string }, request: MailRequest): Promise<ComposeTracking | null> {
    const plan = trackingPlan(await this.accountSettings(message.accountId), request);
    if (!plan) return null;
    const issuedAt = Math.floor(this.now() / 1000);
    const base = { accountId: message.accountId, messageId: message.id, issuedAt };
    const unsubscribeUrl = plan.subscription || plan.listUnsubscribe ? `${this.baseUrl}/u/${encodeToken(this.keys, { kind: 'unsubscribe', ...base })}` : '';
    const footerUrl = plan.subscriptionUrl || unsubscribeUrl;
    const link = (part: 'html' | 'text') => (url: string, index: number): string | null => {
      if (Buffer.byteLength(url) > MAX_TRACKED_URL_BYTES) return null;
      return `${this.baseUrl}/c/${encodeToken(this.keys, { kind: 'click', ...base, part, index, url })}`;
    };
    const headers: Record<string, string> = {};
    if (plan.listUnsubscribe) {
      // RFC 2369 §3.2 and RFC 8058 §3.1: an HTTPS URI that takes a one-click POST; DKIM covers both.
      headers['List-Unsubscribe'] = `<${unsubscribeUrl}>`;
      headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
    }
    return {
      headers,
      html: (body) => {
        let out = plan.click ? rewriteHtmlLinks(body, link('html')) : body;
        if (plan.subscription) {
          if (plan.subscriptionTag && out.includes(plan.subscriptionTag)) out = out.split(plan.subscriptionTag).join(footerUrl);
          else out = insertBeforeBodyEnd(out, fillSubscriptionHtml(plan.subscriptionHtml, footerUrl));
        }
        if (plan.open) {
          const pixel = openPixel(`${this.baseUrl}/o/${encodeToken(this.keys, { kind: 'open', ...base })}`);
          if (plan.openTag && out.includes(plan.openTag)) out = out.split(plan.openTag).join(pixel);
          else out = insertBeforeBodyEnd(out, pixel);
        }
        return out;
      },
      text: (body) => {
        let out = plan.clickText ? rewriteTextLinks(body, link('text')) : body;
        if (plan.subscription) {
          if (plan.subscriptionTag && out.includes(plan.subscriptionTag)) out = out.split(plan.subscriptionTag).join(footerUrl);
          else out = `${out}\n\n${fillSubscriptionText(plan.subscriptionText, footerUrl)}`;
        }
        return out;
      },
    };
  }

  private accountSettings(accountId: string): Promise<TrackingSettings> {
    const now = this.now();
    const hit = this.cached.get(accountId);
    if (hit && now - hit.at < SETTINGS_TTL_MS) return hit.settings;
    const settings = this.settings.get(accountId);
    if (this.cached.size >= MAX_CACHED_ACCOUNTS) this.cached.clear();
    this.cached.set(accountId, { at: now, settings });
    // A failed read is not remembered: the next message asks again.
    settings.catch(() => this.cached.delete(accountId));
    return settings;
  }
}

const SETTINGS_TTL_MS = 1000;
const MAX_CACHED_ACCOUNTS = 10_000;
