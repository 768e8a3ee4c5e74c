/**
 * An account's tracking defaults, as SendGrid's Settings API names them
 * (`/v3/tracking_settings/open`, `/click`, `/subscription`). A message's own `tracking_settings`
 * override them. All are off until the account turns them on.
 */
export interface TrackingSettings {
  open: { enabled: boolean };
  click: { enabled: boolean; enableText: boolean };
  subscription: {
    enabled: boolean;
    /** HTML appended to messages; `<% text %>` marks the unsubscribe link. */
    htmlContent: string;
    /** Plain text appended to messages; `<% %>` marks where the unsubscribe URL goes. */
    plainContent: string;
    /** A tag in the message replaced by the unsubscribe URL instead of appending the content. */
    replace: string;
    /** Where the footer link sends recipients instead of Herald's unsubscribe page; '' for Herald's. */
    url: string;
    /** HTML of the page shown after unsubscribing; '' for Herald's own. */
    landing: string;
  };
}

/** One changed value, by its stored name. */
export type TrackingSettingName =
  | 'open.enabled'
  | 'click.enabled'
  | 'click.enable_text'
  | 'subscription.enabled'
  | 'subscription.html_content'
  | 'subscription.plain_content'
  | 'subscription.replace'
  | 'subscription.url'
  | 'subscription.landing';
export type TrackingSettingChanges = Partial<Record<TrackingSettingName, boolean | string>>;

/** The tracking settings port: per account; another account's settings are never read or changed. */
export interface TrackingSettingsStore {
  /** The account's settings, defaults where it changed nothing. */
  get(accountId: string): Promise<TrackingSettings>;
  /** Changes the named values only (each written on its own, so concurrent changes of others stay); returns the result. */
  update(accountId: string, changes: TrackingSettingChanges): Promise<TrackingSettings>;
}

/** SendGrid's default subscription texts. */
export const DEFAULT_SUBSCRIPTION_HTML = '<p style="font-size:12px;color:#666">If you would like to unsubscribe and stop receiving these emails <% click here %>.</p>';
export const DEFAULT_SUBSCRIPTION_TEXT = 'If you would like to unsubscribe and stop receiving these emails click here: <% %>.';

export function defaultTrackingSettings(): TrackingSettings {
  return {
    open: { enabled: false },
    click: { enabled: false, enableText: false },
    subscription: { enabled: false, htmlContent: DEFAULT_SUBSCRIPTION_HTML, plainContent: DEFAULT_SUBSCRIPTION_TEXT, replace: '', url: '', landing: '' },
  };
}

/** The settings from stored (name, JSON value) rows; unknown names and bad values are ignored. */
export function settingsFromRows(rows: readonly { name: string; value: string }[]): TrackingSettings {
  const s = defaultTrackingSettings();
  for (const row of rows) {
    let v: unknown;
    try {
      v = JSON.parse(row.value);
    } catch {
      continue;
    }
    const bool = typeof v === 'boolean' ? v : null;
    const text = typeof v === 'string' ? v : null;
    switch (row.name as TrackingSettingName) {
      case 'open.enabled':
        if (bool !== null) s.open.enabled = bool;
        break;
      case 'click.enabled':
        if (bool !== null) s.click.enabled = bool;
        break;
      case 'click.enable_text':
        if (bool !== null) s.click.enableText = bool;
        break;
      case 'subscription.enabled':
        if (bool !== null) s.subscription.enabled = bool;
        break;
      case 'subscription.html_content':
        if (text !== null) s.subscription.htmlContent = text;
        break;
      case 'subscription.plain_content':
        if (text !== null) s.subscription.plainContent = text;
        break;
      case 'subscription.replace':
        if (text !== null) s.subscription.replace = text;
        break;
      case 'subscription.url':
        if (text !== null) s.subscription.url = text;
        break;
      case 'subscription.landing':
        if (text !== null) s.subscription.landing = text;
        break;
    }
  }
  return s;
}
