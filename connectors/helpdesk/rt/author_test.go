package rt

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/normalize"
)

// Players see a reply's Author.DisplayName above it: the RT user's real name, never the user
// name, which is kept in ExternalID (without a real name the chat shows its own title).
func TestReplyAuthorIsTheRealNameNeverTheUserName(t *testing.T) {
	tests := []struct {
		name    string
		creator user
		want    normalize.Author
	}{
		{"real name", user{Name: "anna", RealName: "Anna Berg"},
			normalize.Author{Role: normalize.RoleAgent, DisplayName: "Anna Berg", ExternalID: "anna"}},
		{"no real name", user{Name: "root"},
			normalize.Author{Role: normalize.RoleAgent, ExternalID: "root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Helpdesk{name: "rt"}
			m := h.system(txn{ID: "7", Ticket: "42", Type: "Correspond", Creator: tt.creator}, "text")
			require.Equal(t, tt.want, m.Author)
		})
	}
}
