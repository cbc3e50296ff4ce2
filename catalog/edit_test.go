package catalog

import (
	"cmp"
	"errors"
	"strings"
	"testing"
)

func TestCanEdit(t *testing.T) {
	owned := Dataset{Key: Key{Namespace: "ns", Name: "t"}, Owners: []Sourced[Owner]{
		{Value: Owner{Name: "bob@corp", Kind: OwnerUser}},
		{Value: Owner{Name: "carol@corp", Kind: OwnerTeam}},
	}}
	tests := []struct {
		name string
		p    Principal
		want error // nil: may edit
	}{
		{"anonymous", Principal{}, ErrUnauthenticated},
		{"blank login", Principal{Login: " ", Role: RoleAdmin}, ErrUnauthenticated},
		{"viewer", Principal{Login: "alice@corp", Role: RoleViewer}, ErrForbidden},
		{"no role", Principal{Login: "alice@corp"}, ErrForbidden},
		{"editor", Principal{Login: "alice@corp", Role: RoleEditor}, nil},
		{"admin", Principal{Login: "alice@corp", Role: RoleAdmin}, nil},
		{"viewer owning it", Principal{Login: "bob@corp", Role: RoleViewer}, nil},
		{"viewer named like a team owner", Principal{Login: "carol@corp", Role: RoleViewer}, ErrForbidden},
		{"viewer in the owning team", Principal{Login: "dave@corp", Role: RoleViewer, Groups: []string{"staff", "carol@corp"}}, nil},
		{"viewer in other teams", Principal{Login: "dave@corp", Role: RoleViewer, Groups: []string{"staff", "Carol@corp"}}, ErrForbidden},
		{"viewer with a group named like a user owner", Principal{Login: "dave@corp", Role: RoleViewer, Groups: []string{"bob@corp"}}, ErrForbidden},
		{"anonymous in the owning team", Principal{Groups: []string{"carol@corp"}}, ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := AuthorizeEdit(tt.p, owned)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("AuthorizeEdit = %v, want %v", err, tt.want)
			}
			if got := CanEdit(tt.p, owned); got != (tt.want == nil) {
				t.Errorf("CanEdit = %v, want %v", got, tt.want == nil)
			}
		})
	}
}

func TestOwnerValidate(t *testing.T) {
	tests := []struct {
		o       Owner
		wantErr bool
	}{
		{Owner{Name: "payments", Kind: OwnerTeam}, false},
		{Owner{Name: "", Kind: OwnerTeam}, true},
		{Owner{Name: "x", Kind: "group"}, true},
	}
	for _, tt := range tests {
		if err := tt.o.Validate(); (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%+v.Validate() = %v, want error %v", tt.o, err, tt.wantErr)
		}
	}
	for _, tag := range []string{"", " pii", "x" + string(make([]byte, 100)), "x\u0001y", "line\nbreak", "nul\x00"} {
		if err := ValidateTag(tag); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateTag(%q) = %v, want ErrInvalid", tag, err)
		}
	}
	if err := ValidateTag("pii"); err != nil {
		t.Errorf("ValidateTag(pii) = %v", err)
	}
}

func TestKeyValidate(t *testing.T) {
	long := strings.Repeat("x", MaxNameBytes+1)
	for _, tt := range []struct {
		k  Key
		ok bool
	}{
		{Key{"postgres://h:5432", "db.s.t"}, true},
		{Key{"postgres://h:5432", strings.Repeat("x", MaxNameBytes)}, true},
		{Key{"", "db.s.t"}, false},
		{Key{"postgres://h:5432", ""}, false},
		{Key{"postgres://h:5432", "db.s.t\x00"}, false},
		{Key{"post\x00gres", "db.s.t"}, false},
		{Key{"postgres://h:5432", "db.s.\xff"}, false},
		{Key{"postgres://h:5432", long}, false},
		{Key{long, "t"}, false},
	} {
		err := tt.k.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%.60q.Validate() = %v, want ok %v", tt.k.String(), err, tt.ok)
		}
		if err := (JobKey{Namespace: tt.k.Namespace, Name: tt.k.Name}).Validate(); (err == nil) != tt.ok {
			t.Errorf("job %.60q.Validate() = %v, want ok %v", tt.k.String(), err, tt.ok)
		}
	}
}

func TestKeyCompare(t *testing.T) {
	// By namespace first: "a" < "a.b" even though "a/x" > "a.b/x" as strings.
	sorted := []Key{{"a", "z"}, {"a", "zz"}, {"a.b", "a"}, {"b", "a"}}
	for i, a := range sorted {
		for j, b := range sorted {
			if got, want := a.Compare(b), cmp.Compare(i, j); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestAuthorizeAdminister(t *testing.T) {
	tests := []struct {
		name string
		p    Principal
		want error // nil: may administer
	}{
		{"anonymous", Principal{}, ErrUnauthenticated},
		{"blank login", Principal{Login: "  ", Role: RoleAdmin}, ErrUnauthenticated},
		{"viewer", Principal{Login: "vic@corp", Role: RoleViewer}, ErrForbidden},
		{"editor", Principal{Login: "alice@corp", Role: RoleEditor}, ErrForbidden},
		{"admin", Principal{Login: "root@corp", Role: RoleAdmin}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := AuthorizeAdminister(tt.p, "the audit")
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("AuthorizeAdminister = %v, want %v", err, tt.want)
			}
			if got := MayAdminister(tt.p); got != (tt.want == nil) {
				t.Errorf("MayAdminister = %v, want %v", got, tt.want == nil)
			}
		})
	}
	if login, ok := UserLogin("user:alice@corp"); !ok || login != "alice@corp" {
		t.Errorf("UserLogin(user:alice@corp) = %q, %v", login, ok)
	}
	if _, ok := UserLogin("dbt:analytics"); ok {
		t.Error("UserLogin(dbt:analytics) reports a person")
	}
}

// TestAuthorizeIncident: who may acknowledge and resolve a dataset's
// incidents is who may edit it.
func TestAuthorizeIncident(t *testing.T) {
	d := Dataset{Key: Key{Namespace: "ns", Name: "t"},
		Owners: []Sourced[Owner]{{Value: Owner{Name: "olga@corp", Kind: OwnerUser}}}}
	for _, tc := range []struct {
		p    Principal
		want error
	}{
		{Principal{}, ErrUnauthenticated},
		{Principal{Login: "vic@corp", Role: RoleViewer}, ErrForbidden},
		{Principal{Login: "olga@corp", Role: RoleViewer}, nil},
		{Principal{Login: "alice@corp", Role: RoleEditor}, nil},
		{Principal{Login: "root@corp", Role: RoleAdmin}, nil},
	} {
		err := AuthorizeIncident(tc.p, d)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%+v: %v, want %v", tc.p, err, tc.want)
		}
		if CanHandleIncident(tc.p, d) != (tc.want == nil) {
			t.Errorf("%+v: CanHandleIncident disagrees with AuthorizeIncident", tc.p)
		}
	}
}
