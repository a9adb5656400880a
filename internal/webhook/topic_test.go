package webhook_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"tourd/internal/userdata"
	"tourd/internal/webhook"
)

// The cases of Usertour's webhook-topics.spec.ts, with tourd's membership
// family and exact types beside user and company.
func TestParseTopics(t *testing.T) {
	for _, topic := range []string{
		"*", "event.tracked", "event.tracked.flow_started", "event.tracked.my.custom.event", "event.tracked.page_viewed",
		"content", "content.published",
		"user", "user.created", "user.updated", "user.deleted",
		"company", "company.created", "company.updated", "company.deleted",
		"membership", "membership.created", "membership.updated", "membership.deleted",
		"event.tracked." + strings.Repeat("é", userdata.MaxTopicLength-len("event.tracked.")),
	} {
		if got, err := webhook.ParseTopics([]string{topic}); err != nil || !slices.Equal(got, webhook.Topics{topic}) {
			t.Errorf("ParseTopics([%q]) = %q, %v; want it accepted", topic, got, err)
		}
	}
	for _, topic := range []string{
		"flow_started", "user.archived", "content.deleted", "event.tracked.", "", "companyMembership.created",
		"USER", "user.", "users", "webhook.test", "**", "event", "event.tracked.x" + strings.Repeat("y", userdata.MaxTopicLength),
	} {
		_, err := webhook.ParseTopics([]string{"user", topic})
		if userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("ParseTopics([user %q]) = %v, want CodeInvalid", topic, err)
		}
	}
	_, err := webhook.ParseTopics([]string{"*", "user.archived"})
	want := `Invalid topic subscription "user.archived" — expected "*", a family name ("user", "company", "membership", "event.tracked", "content"), "event.tracked.<codeName>", or an exact topic such as "user.updated" / "membership.deleted".`
	if e, ok := err.(*userdata.Error); !ok || e.Message != want {
		t.Errorf("the error of an unknown topic: %v, want %q", err, want)
	}
}

// A list holds 1 to 100 topics; repeats count once, in the order given.
func TestParseTopicsList(t *testing.T) {
	many := make([]string, userdata.MaxTopics)
	for i := range many {
		many[i] = fmt.Sprintf("event.tracked.e%d", i)
	}
	if got, err := webhook.ParseTopics(many); err != nil || len(got) != userdata.MaxTopics {
		t.Errorf("ParseTopics(100 topics) = %d topics, %v", len(got), err)
	}
	for name, list := range map[string][]string{"none": {}, "nil": nil, "101": append(many, "user")} {
		if _, err := webhook.ParseTopics(list); userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("ParseTopics(%s) = %v, want CodeInvalid", name, err)
		}
	}
	got, err := webhook.ParseTopics([]string{"user", "*", "user", "company.created", "*"})
	if want := (webhook.Topics{"user", "*", "company.created"}); err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseTopics with repeats = %q, %v; want %q", got, err, want)
	}
}

func TestMatch(t *testing.T) {
	ev := func(codeName string) string { return userdata.ChangeEventTracked + codeName }
	for _, tt := range []struct {
		topics     webhook.Topics
		changeType string
		want       bool
	}{
		// An exact topic.
		{webhook.Topics{"event.tracked.flow_started"}, ev("flow_started"), true},
		{webhook.Topics{"event.tracked.flow_started"}, ev("flow_completed"), false},
		// The wildcard and the event family cover every event...
		{webhook.Topics{"*"}, ev("flow_started"), true},
		{webhook.Topics{"event.tracked"}, ev("checklist_completed"), true},
		// ... but page_viewed, which only its exact topic covers.
		{webhook.Topics{"*"}, ev("page_viewed"), false},
		{webhook.Topics{"event.tracked"}, ev("page_viewed"), false},
		{webhook.Topics{"*", "event.tracked", "user"}, ev("page_viewed"), false},
		{webhook.Topics{"event.tracked.page_viewed"}, ev("page_viewed"), true},
		{webhook.Topics{"*", "event.tracked.page_viewed"}, ev("page_viewed"), true},
		// No partial codeName: dotted codeNames need the whole topic.
		{webhook.Topics{"event.tracked.my"}, ev("my.custom.event"), false},
		{webhook.Topics{"event.tracked.my.custom.event"}, ev("my.custom.event"), true},
		{webhook.Topics{"event.tracked.page_viewed"}, ev("page_viewed.more"), false},
		{webhook.Topics{"event.tracked"}, ev("page_viewed.more"), true},
		{nil, ev("flow_started"), false},
		// Entity changes: exact, by family, by wildcard.
		{webhook.Topics{"user.updated"}, userdata.ChangeUserUpdated, true},
		{webhook.Topics{"user"}, userdata.ChangeUserCreated, true},
		{webhook.Topics{"company"}, userdata.ChangeCompanyUpdated, true},
		{webhook.Topics{"membership"}, userdata.ChangeMembershipDeleted, true},
		{webhook.Topics{"*"}, userdata.ChangeUserUpdated, true},
		{webhook.Topics{"*"}, userdata.ChangeMembershipCreated, true},
		{webhook.Topics{"user.created"}, userdata.ChangeUserUpdated, false},
		// Families stay apart.
		{webhook.Topics{"user"}, userdata.ChangeCompanyUpdated, false},
		{webhook.Topics{"user"}, userdata.ChangeMembershipCreated, false},
		{webhook.Topics{"company"}, userdata.ChangeMembershipCreated, false},
		{webhook.Topics{"user"}, ev("flow_started"), false},
		{webhook.Topics{"event.tracked"}, userdata.ChangeUserUpdated, false},
		{webhook.Topics{"content"}, ev("flow_started"), false},
		{webhook.Topics{"event.tracked"}, "content.published", false},
		{webhook.Topics{"content", "content.published"}, userdata.ChangeUserCreated, false},
		// A family covers types added to it later.
		{webhook.Topics{"user"}, "user.merged", true},
	} {
		if got := tt.topics.Match(tt.changeType); got != tt.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.topics, tt.changeType, got, tt.want)
		}
	}
}

// Every change type is a valid topic that covers itself, its family and
// the wildcard, and nothing else of the list.
func TestChangeTypes(t *testing.T) {
	for _, ct := range userdata.ChangeTypes {
		family, _, _ := strings.Cut(ct, ".")
		topics, err := webhook.ParseTopics([]string{ct, family, "*"})
		if err != nil {
			t.Fatalf("change type %s is not a topic: %v", ct, err)
		}
		for _, topic := range topics {
			if !(webhook.Topics{topic}).Match(ct) {
				t.Errorf("%s does not cover %s", topic, ct)
			}
		}
		for _, other := range userdata.ChangeTypes {
			if other != ct && (webhook.Topics{ct}).Match(other) {
				t.Errorf("%s covers %s", ct, other)
			}
		}
	}
}
