package parse

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		value  string
		params map[string]string
	}{
		{"plain", `text/plain; charset="UTF-8"; format=flowed`, "text/plain", map[string]string{"charset": "UTF-8", "format": "flowed"}},
		{"upper case and spaces", ` Text/HTML ;  Charset = iso-8859-2 `, "text/html", map[string]string{"charset": "iso-8859-2"}},
		{"rfc 2231 utf-8", `attachment; filename*=UTF-8''Extras%20de%20cont%20%E2%80%93%20ianuarie.pdf`, "attachment", map[string]string{"filename": "Extras de cont – ianuarie.pdf"}},
		{"rfc 2231 iso-8859-1, which mime.ParseMediaType drops", `attachment; filename*=iso-8859-1'sv'k%F6rkort.jpg`, "attachment", map[string]string{"filename": "körkort.jpg"}},
		{"rfc 2231 koi8-r", `attachment; filename*=koi8-r''%F0%C1%D3%D0%CF%D2%D4.pdf`, "attachment", map[string]string{"filename": "Паспорт.pdf"}},
		{"rfc 2231 sections", "attachment; filename*0*=utf-8''%D0%92%D1%8B%D0%BF; filename*1*=%D0%B8%D1%81%D0%BA%D0%B0; filename*2=.pdf", "attachment", map[string]string{"filename": "Выписка.pdf"}},
		{"sections out of order", `attachment; filename*1="b.pdf"; filename*0="a"`, "attachment", map[string]string{"filename": "ab.pdf"}},
		{"an escape split across sections", "attachment; filename*0*=utf-8''%C8; filename*1*=%99.txt", "attachment", map[string]string{"filename": "ș.txt"}},
		{"extended wins over the ASCII stand-in", `attachment; filename="Extras de cont - ianuarie.pdf"; filename*=UTF-8''Extras%20%E2%80%93.pdf`, "attachment", map[string]string{"filename": "Extras –.pdf"}},
		{"encoded word, as Outlook and Gmail write it", `attachment; filename="=?UTF-8?B?ZGVjbGFyYcibaWUucGRm?="`, "attachment", map[string]string{"filename": "declarație.pdf"}},
		{"encoded word in koi8-r", `image/png; name="=?koi8-r?B?8MHT0M/S1C5wbmc=?="`, "image/png", map[string]string{"name": "Паспорт.png"}},
		{"unquoted spaces", `attachment; filename=my scan 1.pdf; size=100`, "attachment", map[string]string{"filename": "my scan 1.pdf", "size": "100"}},
		{"quoted with escapes and a semicolon", `attachment; filename="a \"b\"; c.txt"`, "attachment", map[string]string{"filename": `a "b"; c.txt`}},
		{"repeated parameter: the first", `text/plain; charset=utf-8; charset=koi8-r`, "text/plain", map[string]string{"charset": "utf-8"}},
		{"unclosed quote", `attachment; filename="open.pdf`, "attachment", map[string]string{"filename": "open.pdf"}},
		{"raw 8-bit windows-1252 in a name", "attachment; filename=\"r\xe9sum\xe9.pdf\"", "attachment", map[string]string{"filename": "résumé.pdf"}},
		{"raw utf-8 in a name (RFC 6532)", `attachment; filename="чек.pdf"`, "attachment", map[string]string{"filename": "чек.pdf"}},
		{"garbage", `;;=;=x; ; a`, "", map[string]string{}},
		{"section numbers that are not", `attachment; filename*00=a; filename*x=b`, "attachment", map[string]string{"filename*00": "a", "filename*x": "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, params := parseValue(tt.in, fallbackCharset)
			require.Equal(t, tt.value, value)
			require.Equal(t, tt.params, params)
		})
	}
}

func TestDecodeCharset(t *testing.T) {
	tests := []struct {
		name, label, fallback string
		in                    []byte
		want                  string
	}{
		{"iso-8859-2", "ISO-8859-2", "", []byte("Bun\xe3 ziua, \xbatiu c\xe2\xfeiva"), "Bună ziua, ştiu câţiva"}, // ISO-8859-2 has the cedilla forms
		{"koi8-r", "koi8-r", "", []byte("\xf0\xd2\xc9\xd7\xc5\xd4"), "Привет"},
		{"windows-1251", "windows-1251", "", []byte("\xcf\xf0\xe8\xe2\xe5\xf2"), "Привет"},
		{"cp1251 alias", "cp1251", "", []byte("\xcf\xf0\xe8\xe2\xe5\xf2"), "Привет"},
		{"iso-8859-1 read as windows-1252", "iso-8859-1", "", []byte("\x93quoted\x94 caf\xe9"), "“quoted” café"},
		{"utf-8", "utf-8", "", []byte("Bună"), "Bună"},
		{"us-ascii that is utf-8", "us-ascii", "", []byte("Bună"), "Bună"},
		{"unlabelled 8-bit in the mail's charset", "", "koi8-r", []byte("\xf0\xd2\xc9\xd7\xc5\xd4"), "Привет"},
		{"utf-8 label on windows-1252 bytes", "utf-8", "", []byte("caf\xe9"), "café"},
		{"unknown label", "x-martian", "", []byte("caf\xe9"), "café"},
		{"unknown label, utf-8 bytes", "x-martian", "", []byte("Bună"), "Bună"},
		{"iso-8859-15", "iso-8859-15", "", []byte("\xa4 5"), "€ 5"},
		{"quoted label", `"windows-1250"`, "", []byte("\x9ala"), "šla"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, decodeCharset(tt.in, tt.label, tt.fallback))
		})
	}
}

func TestHeaderValue(t *testing.T) {
	tests := []struct{ name, in, fallback, want string }{
		{"romanian utf-8 q", "=?UTF-8?Q?Retragere_=C3=AEn_a=C8=99teptare?=", "", "Retragere în așteptare"},
		{"russian koi8-r b", "=?KOI8-R?B?8M/Qz8zOxc7JxSDOxSDawd7J08zFzs8=?=", "", "Пополнение не зачислено"},
		{"russian windows-1251 q", "=?windows-1251?Q?=C2=FB=E2=EE=E4_=F1=F0=E5=E4=F1=F2=E2?=", "", "Вывод средств"},
		{"swedish iso-8859-1, split in two words", "=?ISO-8859-1?Q?Fr=E5ga_om?= =?ISO-8859-1?Q?_uttag?=", "", "Fråga om uttag"},
		{"utf-8 split inside a character", "=?UTF-8?B?w6Q=?= =?UTF-8?B?w7Y=?=", "", "äö"},
		{"words between plain text", "Re: =?utf-8?q?K=C3=B6rkort?= ok", "", "Re: Körkort ok"},
		{"unknown charset keeps the rest", "=?x-martian?Q?caf=E9?= and =?utf-8?Q?=C3=A5?=", "", "café and å"},
		{"raw 8-bit in the fallback charset", "\xcf\xf0\xe8\xe2\xe5\xf2", "windows-1251", "Привет"},
		{"malformed word stays", "=?utf-8?Q?unterminated", "", "=?utf-8?Q?unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, headerValue(tt.in, tt.fallback))
		})
	}
}
