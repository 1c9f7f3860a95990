package inbox

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// Players see a reply's Author.DisplayName above it. It must be a display name the agent was
// given, never the sign-in name ("admin" on a first start); without one it stays empty and the
// chat shows its own title. The sign-in name is kept in ExternalID for the agents.
func TestReplyAuthorIsTheDisplayNameNeverTheSignInName(t *testing.T) {
	tests := []struct {
		name   string
		agents []Agent // nil: the first start creates admin
		user   string
		want   normalize.Author
	}{
		{"configured display name", nil, "alice",
			normalize.Author{Role: normalize.RoleAgent, DisplayName: "Alice", ExternalID: "alice"}},
		{"configured without display name", []Agent{{Name: "bob"}}, "bob",
			normalize.Author{Role: normalize.RoleAgent, ExternalID: "bob"}},
		{"first-start admin", []Agent{}, "admin",
			normalize.Author{Role: normalize.RoleAgent, ExternalID: "admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config, _ *Deps) {
				if tt.agents == nil {
					return
				}
				c.Agents = nil
				for _, a := range tt.agents {
					a.PasswordHash = minCostHash(t, testPassword)
					c.Agents = append(c.Agents, a)
				}
			})
			password := testPassword
			if tt.user == "admin" {
				m := adminLine.FindStringSubmatch(f.out.String())
				require.NotNil(t, m, "printed %q", f.out.String())
				password = m[1]
			}
			c := f.conv("c1", lena)
			f.post(c, playerMsg("m1", "hi", t0))
			b := f.browser()
			require.Equal(t, http.StatusSeeOther, b.signIn(tt.user, password).status)
			b.csrf = find(t, `data-csrf="([^"]+)"`, b.get("/inbox/").body)

			form := url.Values{csrfField: {b.csrf}, "token": {b.replyToken("c1")}, "text": {"Hello Lena!"}}
			require.Equal(t, http.StatusSeeOther, b.postForm("/inbox/conversations/c1/reply", form).status)
			status := url.Values{csrfField: {b.csrf}, "token": {b.replyToken("c1")}}
			require.Equal(t, http.StatusSeeOther, b.postForm("/inbox/conversations/c1/close", status).status)

			got := f.sink.delivered()
			require.Len(t, got, 2)
			require.Equal(t, tt.want, got[0].Author, "the reply")
			require.Equal(t, tt.want, got[1].Author, "the status change")
		})
	}
}

// Colleagues still see who answered: an agent without a display name shows as the sign-in name
// in the thread.
func TestThreadNamesAgentsWithoutDisplayNameBySignInName(t *testing.T) {
	f := newFixture(t)
	reply := agentMsg("a1", "on it", normalize.StateSent, "")
	reply.Author = normalize.Author{Role: normalize.RoleAgent, ExternalID: "admin"}
	f.conv("c1", lena, playerMsg("m1", "hi", t0), reply)
	body := f.signedIn().get("/inbox/conversations/c1").body
	require.Contains(t, body, `<span class="author">admin</span>`)
}
