// Package voice owns the phone channel: a support line at Twilio or Vonage whose webhooks
// the gateway answers. An incoming call is answered at once, from the configuration alone
// (TwiML for Twilio, an NCCO for Vonage): a greeting in the caller's language (per called
// number, or by the caller's country code), out of hours the opening hours, optionally a menu
// (1 voicemail, 2 call-back request), a VIP's forward to their personal manager during hours
// (a forward nobody answers falls back to the voicemail), and the voicemail with a maximum
// length and a transcript.
//
// The recording's and the transcript's callbacks, in either order, become ONE message of
// kind voice on the caller's conversation (address: the E.164 number, as connectors/phone
// writes it, so the caller is the same player across calls and on WhatsApp): the transcript
// as text, the audio as attachment, downloaded with the provider's credentials and retried.
// Each callback is answered 2xx only once what it brought is stored in the gateway's store
// (connectors.Records, one record per callback, see pending.go), so a crash between a
// callback and the download loses nothing, and replicas taking callbacks at once lose none:
// the settle loop, on one replica at a time, picks the pending voicemails up. A call that
// ended without a message, or never reached the line, becomes a system message; a call-back
// request becomes a text message flagged as one (connectors/callback). ExternalIDs are the
// provider's recording and call IDs, so a callback delivered twice is stored once.
//
// Every request is verified before anything of it is read into a message: Twilio's
// X-Twilio-Signature (HMAC-SHA1 over the full URL and the sorted POST parameters, Base64,
// twilio.com/docs/usage/webhooks/webhooks-security), Vonage's signed-webhook JWT (HS256 with
// the signature secret, with the body's payload_hash, developer.vonage.com "Signed
// webhooks"). A request that fails gets 403, a log line and gateway_voice_rejected_total.
//
// Agents' replies go to the caller as SMS (sms.go): Twilio's Messages API or Vonage's SMS
// API. A number that cannot take SMS (by the configured mobile prefixes, or refused by the
// provider as a landline) fails the reply for good and tells the agents to call back.
package voice
