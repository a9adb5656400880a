package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// The members of a manual segment in an environment page as the users
// list does: in either order, after a cursor or not, the query walks
// segment_members_list, finds each user by its id, and sorts nothing; and
// whether a user is a member is one probe of the primary key. (The
// segmentId filter of the lists is to be built on these shapes.)
func TestSegmentMemberPlans(t *testing.T) {
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	const page = `SELECT u.id, u.external_id, u.attributes, u.created_at
		FROM segment_members m JOIN users u ON u.id = m.entity_id
		WHERE m.segment_id = ? AND m.environment_id = ?`
	for _, tt := range []struct {
		query string
		args  []any
	}{
		{page + " ORDER BY m.created_at, m.entity_id LIMIT 21", []any{"s", "e"}},
		{page + " ORDER BY m.created_at DESC, m.entity_id DESC LIMIT 21", []any{"s", "e"}},
		{page + " AND (m.created_at, m.entity_id) > (?, ?) ORDER BY m.created_at, m.entity_id LIMIT 21", []any{"s", "e", 1, "c"}},
		{page + " AND (m.created_at, m.entity_id) < (?, ?) ORDER BY m.created_at DESC, m.entity_id DESC LIMIT 21", []any{"s", "e", 1, "c"}},
	} {
		pl := plan(t, s.r, tt.query, tt.args)
		if !strings.Contains(pl, "INDEX segment_members_list (segment_id=? AND environment_id=?") ||
			!strings.Contains(pl, "SEARCH u USING INDEX sqlite_autoindex_users_1 (id=?)") || strings.Contains(pl, "TEMP B-TREE") || strings.Contains(pl, "SCAN") {
			t.Errorf("%s\nplan:\n%s", tt.query, pl)
		}
	}
	probe := `SELECT u.id FROM users u WHERE u.environment_id = ? AND EXISTS
		(SELECT 1 FROM segment_members m WHERE m.segment_id = ? AND m.entity_id = u.id) ORDER BY u.created_at, u.id LIMIT 21`
	if pl := plan(t, s.r, probe, []any{"e", "s"}); !strings.Contains(pl, "INDEX sqlite_autoindex_segment_members_1 (segment_id=? AND entity_id=?)") {
		t.Errorf("%s\nplan:\n%s", probe, pl)
	}
}
