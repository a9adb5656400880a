package storetest

import (
	"slices"
	"testing"
	"time"

	"tourd/internal/userdata"
)

func listEvents(t *testing.T, s userdata.Store, tn userdata.Tenant, f userdata.EventFilter) []*userdata.Event {
	t.Helper()
	if f.Limit == 0 {
		f.PageRequest = page(100, "")
	}
	l, err := s.ListEvents(t.Context(), tn, f)
	if err != nil {
		t.Fatalf("ListEvents(%+v): %v", f, err)
	}
	return l.Items
}

func testEvents(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	other := Tenant(t, s, "p", "other")
	upsertUser(t, s, tn, &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	user(t, s, tn, "v", `{}`)
	_, err := s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "nope", Name: "x"})
	wantCode(t, "TrackEvent(unknown user)", err, userdata.CodeNotFound, userdata.ResourceUser)
	_, err = s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "u", Name: "x", CompanyID: "nope"})
	wantCode(t, "TrackEvent(unknown company)", err, userdata.CodeNotFound, userdata.ResourceCompany)
	_, err = s.TrackEvent(ctx, other, &userdata.EventInput{UserID: "u", Name: "x"})
	wantCode(t, "TrackEvent(other environment)", err, userdata.CodeNotFound, userdata.ResourceUser)

	at := time.Date(2025, 1, 2, 3, 4, 5, 678000000, time.UTC)
	ev, err := s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "u", Name: "checkout_started", CompanyID: "acme",
		Attributes: attrs(t, `{"cart_total":42.5,"coupon_code":"X","gone":null}`), Timestamp: &at})
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID == "" || ev.UserID != "u" || ev.CompanyID != "acme" || !ev.CreatedAt.Equal(at) || string(ev.Attributes) != `{"cart_total":42.5,"coupon_code":"X"}` {
		t.Errorf("TrackEvent = %+v (%s)", ev, ev.Attributes)
	}
	if _, err := s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "v", Name: "page_viewed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "u", Name: "checkout_started", Attributes: attrs(t, `{"cart_total":"n/a"}`)}); err != nil {
		t.Fatal(err)
	}
	names := func(evs []*userdata.Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.UserID+":"+e.Name)
		}
		return out
	}
	for _, tt := range []struct {
		f    userdata.EventFilter
		want []string
	}{
		{userdata.EventFilter{}, []string{"u:checkout_started", "v:page_viewed", "u:checkout_started"}},
		{userdata.EventFilter{UserID: "u"}, []string{"u:checkout_started", "u:checkout_started"}},
		{userdata.EventFilter{CompanyID: "acme"}, []string{"u:checkout_started"}},
		{userdata.EventFilter{Name: "page_viewed"}, []string{"v:page_viewed"}},
		{userdata.EventFilter{UserID: "nope"}, nil},
	} {
		if got := names(listEvents(t, s, tn, tt.f)); !slices.Equal(got, tt.want) {
			t.Errorf("ListEvents(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
	if got := listEvents(t, s, other, userdata.EventFilter{}); len(got) != 0 {
		t.Errorf("another environment lists %d events", len(got))
	}
	// Definitions: the event's, title-cased, and its attributes', linked.
	defs := defsByKey(allAttributeDefinitions(t, s, tn, userdata.AttributeDefinitionFilter{EventNames: []string{"checkout_started"}}))
	if defs["eventDefinition/cart_total"] != "number Cart Total" || defs["eventDefinition/coupon_code"] != "string Coupon Code" || len(defs) != 2 {
		t.Errorf("definitions linked to checkout_started: %v", defs)
	}
	var found bool
	f := userdata.EventDefinitionFilter{PageRequest: page(100, "")}
	l, err := s.ListEventDefinitions(ctx, tn, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range l.Items {
		found = found || (d.CodeName == "checkout_started" && d.DisplayName == "Checkout Started")
	}
	if !found || len(l.Items) != 27 {
		t.Errorf("event definitions: %d, checkout_started found %t", len(l.Items), found)
	}
	// A deleted company leaves its events without a company; a deleted
	// user takes its events along.
	if err := s.DeleteCompany(ctx, tn, "acme"); err != nil {
		t.Fatal(err)
	}
	if evs := listEvents(t, s, tn, userdata.EventFilter{UserID: "u"}); len(evs) != 2 || evs[0].CompanyID != "" {
		t.Errorf("events after the company was deleted: %+v", evs)
	}
	if err := s.DeleteUser(ctx, tn, "u"); err != nil {
		t.Fatal(err)
	}
	if got := names(listEvents(t, s, tn, userdata.EventFilter{})); !slices.Equal(got, []string{"v:page_viewed"}) {
		t.Errorf("events after the user was deleted: %v", got)
	}
}
