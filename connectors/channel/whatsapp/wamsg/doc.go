// Package wamsg owns what the two WhatsApp channels share: the player's address (the E.164
// number of a wa_id or JID), the conversion of an inbound WhatsApp message into the gateway's
// model, and the pacing of sends. The linked-device channel (connectors/channel/whatsapp, on
// whatsmeow) and the Cloud API channel (connectors/channel/whatsapp/cloud) each turn their own
// payloads into an Inbound and let a Converter do the rest, so a photo, a location or a
// reaction reaches agents the same way whichever API brought it.
package wamsg
