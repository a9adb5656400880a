package apiv2

import (
	"encoding/json"
	"net/http"

	"tourd/internal/httpapi/wire"
	"tourd/internal/segment"
	"tourd/internal/userdata"
)

// The routes of segments (segments.md §2): definitions are the project's,
// members of manual segments each environment's.

// segmentJSON is a segment object (segments.md §1). conditions is present,
// possibly [], on condition segments only; memberCount when asked for.
type segmentJSON struct {
	ID          string          `json:"id"`
	Object      string          `json:"object"`
	Name        string          `json:"name"`
	BizType     string          `json:"bizType"`
	Kind        string          `json:"kind"`
	Conditions  json.RawMessage `json:"conditions,omitempty"`
	MemberCount *int64          `json:"memberCount,omitempty"`
	CreatedAt   string          `json:"createdAt"`
	UpdatedAt   string          `json:"updatedAt"`
}

// newSegment returns the object of sg, whose conditions read back with the
// definitions defs (segments.md §3): a leaf whose definition is gone, or
// no longer fits, as an unsupported condition.
func newSegment(sg *userdata.Segment, defs segment.Definitions) segmentJSON {
	var conditions json.RawMessage
	if sg.Kind == userdata.SegmentCondition {
		conditions = segment.Encode(segment.ReadBack(segment.Stored(sg.Conditions), defs))
	}
	return segmentJSON{ID: sg.ID, Object: "segment", Name: sg.Name, BizType: sg.BizType.String(), Kind: string(sg.Kind),
		Conditions: conditions, CreatedAt: userdata.FormatTime(sg.CreatedAt), UpdatedAt: userdata.FormatTime(sg.UpdatedAt)}
}

// segmentDefinitions returns the live definitions of the attributes that
// the conditions of sgs name.
func (a *api) segmentDefinitions(rq *request, sgs ...*userdata.Segment) (segment.DefinitionMap, error) {
	var trees [][]segment.Condition
	for _, sg := range sgs {
		if sg.Kind == userdata.SegmentCondition {
			trees = append(trees, segment.Stored(sg.Conditions))
		}
	}
	return segment.LookUp(rq.Context(), a.store.AttributeTypes, rq.projectID, trees...)
}

// segmentAnswer answers with the object of sg.
func (a *api) segmentAnswer(rq *request, status int, sg *userdata.Segment) (int, any, error) {
	defs, err := a.segmentDefinitions(rq, sg)
	if err != nil {
		return 0, nil, err
	}
	return status, newSegment(sg, defs), nil
}

// conditions parses a tree of conditions strictly and validates it against
// the project's live definitions (segments.md §3), and returns it as a
// segment stores it: 400 E1017 for a tree that is not one.
func (a *api) conditions(rq *request, raw json.RawMessage) (json.RawMessage, error) {
	conds, err := segment.Parse(raw)
	if err != nil {
		return nil, err
	}
	defs, err := segment.LookUp(rq.Context(), a.store.AttributeTypes, rq.projectID, conds)
	if err != nil {
		return nil, err
	}
	if err := segment.Validate(conds, defs); err != nil {
		return nil, err
	}
	return segment.Encode(conds), nil
}

// expandMemberCount is the one expansion of a segment.
const expandMemberCount = "memberCount"

func (a *api) listSegments(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	var f userdata.SegmentFilter
	if f.PageRequest, err = page(q, wire.CreatedAtOrder, wire.CreatedAtOrderNames, "createdAt"); err != nil {
		return 0, nil, err
	}
	bizType, present, err := q.Single("bizType")
	if err != nil {
		return 0, nil, err
	}
	if present {
		if f.BizType, err = segmentBizType(bizType); err != nil {
			return 0, nil, err
		}
	}
	if f.Name, _, err = q.Single("name"); err != nil {
		return 0, nil, err
	}
	l, err := a.store.ListSegments(rq.Context(), rq.projectID, f)
	var defs segment.DefinitionMap
	if err == nil {
		defs, err = a.segmentDefinitions(rq, l.Items...)
	}
	return listAnswer(rq, q, l, err, f.Limit, func(sg *userdata.Segment) segmentJSON { return newSegment(sg, defs) })
}

// getSegment answers GET P/segments/{id} in the order of segments.md §2:
// the query's values, then an environmentId outside the token's list
// (403 E1029: it is in the query, so serve's checks do not see it), then
// the segment (404 E1025), then what expand=memberCount needs. The count
// is the number of rows the users (companies) list walks with segmentId.
func (a *api) getSegment(rq *request) (int, any, error) {
	q, err := wire.ParseQuery(rq.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	expand, err := q.List("expand", true)
	if err != nil {
		return 0, nil, err
	}
	for _, x := range expand {
		if x != expandMemberCount {
			return 0, nil, userdata.Errorf(userdata.CodeInvalid, "each value in expand must be one of the following values: %s", expandMemberCount)
		}
	}
	envID, _, err := q.Single("environmentId")
	if err != nil {
		return 0, nil, err
	}
	if envID != "" && !rq.p.InScope(envID) {
		return 0, nil, &userdata.Error{Code: userdata.CodeOutOfScope}
	}
	sg, err := a.store.GetSegment(rq.Context(), rq.projectID, rq.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	var count *int64
	if len(expand) > 0 {
		if envID == "" {
			return 0, nil, userdata.Errorf(userdata.CodeInvalid, "expand=memberCount needs `environmentId` — segment members are environment-scoped.")
		}
		env, err := a.store.Environment(rq.Context(), envID)
		if userdata.IsNotFound(err, userdata.ResourceEnvironment) || err == nil && env.ProjectID != rq.projectID {
			return 0, nil, userdata.Errorf(userdata.CodeInvalid, "Environment not found in this project")
		}
		if err != nil {
			return 0, nil, err
		}
		n, err := a.memberCount(rq, sg, envID)
		if err != nil {
			return 0, nil, err
		}
		count = &n
	}
	defs, err := a.segmentDefinitions(rq, sg)
	if err != nil {
		return 0, nil, err
	}
	js := newSegment(sg, defs)
	js.MemberCount = count
	return http.StatusOK, js, nil
}

// memberCount counts the members of sg in environment envID with the
// filter of the users (companies) list's segmentId (segments.md §4).
func (a *api) memberCount(rq *request, sg *userdata.Segment, envID string) (int64, error) {
	tn := userdata.Tenant{ProjectID: rq.projectID, EnvironmentID: envID}
	audience := userdata.Audience{Segment: sg}
	if sg.BizType == userdata.ScopeCompany {
		return a.store.CountCompanies(rq.Context(), tn, userdata.CompanyFilter{Audience: audience})
	}
	return a.store.CountUsers(rq.Context(), tn, userdata.UserFilter{Audience: audience})
}

func (a *api) createSegment(rq *request) (int, any, error) {
	o, err := rq.object("name", "bizType", "kind", "conditions")
	if err != nil {
		return 0, nil, err
	}
	var in userdata.SegmentInput
	if in.Name, err = required(o, "name"); err != nil {
		return 0, nil, err
	}
	bizType, err := required(o, "bizType")
	if err != nil {
		return 0, nil, err
	}
	if in.BizType, err = segmentBizType(bizType); err != nil {
		return 0, nil, err
	}
	kind, err := required(o, "kind")
	if err != nil {
		return 0, nil, err
	}
	in.Kind = userdata.SegmentKind(kind) // Validate refuses any but condition and manual
	conditions, err := segmentConditions(o)
	if err != nil {
		return 0, nil, err
	}
	if conditions != nil {
		in.Conditions = *conditions
	}
	if err := in.Validate(); err != nil {
		return 0, nil, err
	}
	if in.Conditions != nil { // a condition segment's: Validate refuses them on a manual one
		if in.Conditions, err = a.conditions(rq, in.Conditions); err != nil {
			return 0, nil, err
		}
	}
	sg, err := a.store.CreateSegment(rq.Context(), rq.projectID, &in)
	if err != nil {
		return 0, nil, err
	}
	return a.segmentAnswer(rq, http.StatusCreated, sg)
}

// updateSegment answers PATCH P/segments/{id}: the body's shape (400),
// then 404 E1025, 409 E1037 and conditions on a segment that is not a
// condition segment (400), checked before new conditions are validated
// (400), and again by the store, with the change.
func (a *api) updateSegment(rq *request) (int, any, error) {
	o, err := rq.object("name", "conditions")
	if err != nil {
		return 0, nil, err
	}
	var u userdata.SegmentUpdate
	if u.Name, err = optional(o, "name"); err != nil {
		return 0, nil, err
	}
	if u.Conditions, err = segmentConditions(o); err != nil {
		return 0, nil, err
	}
	if err := u.Validate(); err != nil {
		return 0, nil, err
	}
	id := rq.PathValue("id")
	if u.Conditions != nil {
		sg, err := a.store.GetSegment(rq.Context(), rq.projectID, id)
		if err != nil {
			return 0, nil, err
		}
		if err := sg.CheckUpdate(&u); err != nil {
			return 0, nil, err
		}
		conditions, err := a.conditions(rq, *u.Conditions)
		if err != nil {
			return 0, nil, err
		}
		u.Conditions = &conditions
	}
	sg, err := a.store.UpdateSegment(rq.Context(), rq.projectID, id, &u)
	if err != nil {
		return 0, nil, err
	}
	return a.segmentAnswer(rq, http.StatusOK, sg)
}

func (a *api) deleteSegment(rq *request) (int, any, error) {
	return http.StatusNoContent, nil, a.store.DeleteSegment(rq.Context(), rq.projectID, rq.PathValue("id"))
}

// putSegmentMember adds a member to a manual segment: no body (one is
// parsed, as every body is, and ignored), 204 also when it was a member.
func (a *api) putSegmentMember(rq *request) (int, any, error) {
	id, err := entityID(rq, "externalId")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, a.store.AddSegmentMember(rq.Context(), rq.tenant(), rq.PathValue("id"), id)
}

// deleteSegmentMember removes a member from a manual segment: 204 also
// when it was not one.
func (a *api) deleteSegmentMember(rq *request) (int, any, error) {
	id, err := entityID(rq, "externalId")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, a.store.RemoveSegmentMember(rq.Context(), rq.tenant(), rq.PathValue("id"), id)
}

// segmentBizType parses a bizType of the body or the query.
func segmentBizType(s string) (userdata.Scope, error) {
	t, ok := userdata.ParseSegmentBizType(s)
	if !ok {
		return 0, userdata.Errorf(userdata.CodeInvalid, "bizType must be one of the following values: %s", userdata.SegmentBizTypes)
	}
	return t, nil
}

// segmentConditions decodes the conditions member of a body: absent is nil;
// anything but an array (null included) is 400 E1017.
func segmentConditions(o wire.Object) (*json.RawMessage, error) {
	raw, present := o["conditions"]
	if !present {
		return nil, nil
	}
	if len(raw) == 0 || raw[0] != '[' {
		return nil, userdata.Errorf(userdata.CodeInvalid, "conditions must be an array")
	}
	return &raw, nil
}
