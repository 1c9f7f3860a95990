package voicefake

import (
	"encoding/xml"
	"fmt"
)

// TwiML is a TwiML <Response> as a test reads it (twilio.com/docs/voice/twiml): the verbs the
// voice line answers with, and the callback URLs Twilio would call next.
type TwiML struct {
	Says   []Say     `xml:"Say"`
	Gather *Gather   `xml:"Gather"`
	Record *Record   `xml:"Record"`
	Dial   *Dial     `xml:"Dial"`
	Hangup *struct{} `xml:"Hangup"`
}

// Say is <Say>.
type Say struct {
	Language string `xml:"language,attr"`
	Text     string `xml:",chardata"`
}

// Gather is <Gather> with its prompt.
type Gather struct {
	Action    string `xml:"action,attr"`
	NumDigits int    `xml:"numDigits,attr"`
	Say       Say    `xml:"Say"`
}

// Record is <Record>.
type Record struct {
	Action                  string `xml:"action,attr"`
	MaxLength               int    `xml:"maxLength,attr"`
	RecordingStatusCallback string `xml:"recordingStatusCallback,attr"`
	Transcribe              bool   `xml:"transcribe,attr"`
	TranscribeCallback      string `xml:"transcribeCallback,attr"`
}

// Dial is <Dial> to one number.
type Dial struct {
	Action  string `xml:"action,attr"`
	Timeout int    `xml:"timeout,attr"`
	Number  string `xml:"Number"`
}

// ParseTwiML reads a webhook's TwiML answer.
func ParseTwiML(a Answer) (TwiML, error) {
	var t TwiML
	if a.Status != 200 {
		return t, fmt.Errorf("TwiML answer %d: %s", a.Status, a.Body)
	}
	if err := xml.Unmarshal(a.Body, &t); err != nil {
		return t, fmt.Errorf("TwiML: %w: %s", err, a.Body)
	}
	return t, nil
}
