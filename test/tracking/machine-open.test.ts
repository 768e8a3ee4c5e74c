import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMachineOpen } from '../../src/tracking/machine-open.js';

test('privacy proxies, scanners, crawlers and libraries are machine opens; mail clients and on-open image proxies are people', () => {
  const machines: [string | null, string | null][] = [
    ['Mozilla/5.0', '203.0.113.1'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)', '17.58.101.3'],
    ['Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36', '::ffff:17.1.2.3'],
    [null, '203.0.113.1'],
    ['Barracuda Sentinel (EE)', null],
    ['Mozilla/5.0 (compatible; Mimecast URL Protect)', null],
    ['Proofpoint URL Defense', null],
    ['curl/8.5.0', null],
    ['python-requests/2.32', null],
    ['Go-http-client/1.1', null],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', null],
    ['Slackbot-LinkExpanding 1.0', null],
    ['Mozilla/5.0 HeadlessChrome/120.0', null],
  ];
  for (const [ua, ip] of machines) assert.equal(isMachineOpen(ua, ip), true, `${ua} from ${ip}`);
  const people: [string, string][] = [
    ['Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)', '66.249.84.1'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)', '198.51.100.4'],
    ['Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)', '198.51.100.5'],
    ['YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html', '98.136.1.1'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.0', '2001:db8::1'],
  ];
  for (const [ua, ip] of people) assert.equal(isMachineOpen(ua, ip), false, ua);
});
