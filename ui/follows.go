package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"almanac/catalog"
	"almanac/catalog/auth"
)

// People follow a dataset (a button on its page), a team or a saved
// search (forms on /account) to hear of their incidents and schema
// changes on a notification channel (see docs/notifications.md). The
// forms are plain HTML posts under the cross-origin protection of every
// form; admins see the deliveries given up on at /admin/notifications.

const (
	followsPath       = "/account/follows"
	unfollowPath      = "/account/follows/remove"
	adminNotifyPath   = "/admin/notifications"
	maxFailuresListed = 200
)

// followView is the dataset page's follow button.
type followView struct {
	Following bool
	Channel   string
	Channels  []string
	Namespace string
	Name      string
}

// myFollowView is one of the reader's follows on /account.
type myFollowView struct {
	Kind    string
	Target  string
	Link    string
	Channel string
	// Namespace and Name are posted back to unfollow.
	Namespace, Name string
}

// followsSection is /account's list of follows and its forms.
type followsSection struct {
	Follows  []myFollowView
	Channels []string
	Default  string
}

// channelNames are the configured channels, in configuration order.
func (s *Server) channelNames() []string {
	if s.notifier == nil {
		return nil
	}
	var names []string
	for _, c := range s.notifier.Channels() {
		names = append(names, c.Name)
	}
	return names
}

// newFollowView is the follow button of dataset k for the reader; nil
// when nobody is signed in or no channel is configured.
func (s *Server) newFollowView(ctx context.Context, k catalog.Key) (*followView, error) {
	p := auth.PrincipalFrom(ctx)
	if p.Anonymous() || len(s.channelNames()) == 0 {
		return nil, nil
	}
	fs, err := s.store.Follows(ctx, p.Login)
	if err != nil {
		return nil, err
	}
	v := &followView{Channels: s.channelNames(), Channel: s.notifier.DefaultChannel(), Namespace: k.Namespace, Name: k.Name}
	for _, f := range fs {
		if f.Kind == catalog.FollowDataset && f.Dataset == k {
			v.Following, v.Channel = true, f.Channel
		}
	}
	return v, nil
}

// followsOf is /account's follows section for p; nil without channels.
func (s *Server) followsOf(r *http.Request, p catalog.Principal) (*followsSection, error) {
	if s.notifier == nil || len(s.channelNames()) == 0 {
		return nil, nil
	}
	fs, err := s.store.Follows(r.Context(), p.Login)
	if err != nil {
		return nil, err
	}
	v := &followsSection{Channels: s.channelNames(), Default: s.notifier.DefaultChannel()}
	for _, f := range fs {
		mv := myFollowView{Kind: string(f.Kind), Target: f.Target(), Channel: f.Channel, Name: f.Name}
		switch f.Kind {
		case catalog.FollowDataset:
			mv.Link, mv.Namespace, mv.Name = datasetPath(f.Dataset), f.Dataset.Namespace, f.Dataset.Name
		case catalog.FollowTeam:
			mv.Link = "/incidents?team=" + url.QueryEscape(f.Name)
		case catalog.FollowSearch:
			mv.Link = "/search?q=" + url.QueryEscape(f.Name)
		}
		v.Follows = append(v.Follows, mv)
	}
	return v, nil
}

// followForm reads what a follow form names.
func followForm(r *http.Request) catalog.NewFollow {
	f := catalog.NewFollow{Kind: catalog.FollowKind(formText(r, "kind")), Channel: formText(r, "channel")}
	if f.Kind == catalog.FollowDataset {
		f.Dataset = catalog.Key{Namespace: formText(r, "namespace"), Name: formText(r, "name")}
	} else {
		f.Name = formText(r, "name")
	}
	return f
}

// postFollow follows what the form names as the reader, then goes back.
func (s *Server) postFollow(w http.ResponseWriter, r *http.Request) error {
	return s.changeFollow(w, r, true)
}

// postUnfollow ends a follow of the reader's.
func (s *Server) postUnfollow(w http.ResponseWriter, r *http.Request) error {
	return s.changeFollow(w, r, false)
}

func (s *Server) changeFollow(w http.ResponseWriter, r *http.Request, follow bool) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return invalid(fmt.Sprintf("The form could not be read (at most %d KiB): %v.", maxFormBytes>>10, err))
	}
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	if p.Anonymous() {
		return withMessage(fmt.Errorf("follow: %w", catalog.ErrUnauthenticated), "Following needs a login.")
	}
	if s.notifier == nil {
		return invalid("No notification channel is configured: there is nothing to follow on.")
	}
	f := followForm(r)
	var err error
	if follow {
		_, err = s.notifier.Follow(ctx, p, f)
	} else {
		err = s.notifier.Unfollow(ctx, p, f)
	}
	if err != nil {
		return withMessage(err, refusalMessage(err))
	}
	back := accountURL
	if r.PostForm.Get("back") == "dataset" && f.Kind == catalog.FollowDataset {
		back = datasetPath(f.Dataset)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// deliveryFailureView is one delivery given up on.
type deliveryFailureView struct {
	catalog.NotificationFailure
	At           moment
	DatasetLink  string
	IncidentLink string
}

// notificationsView is the admins' dead-letter view.
type notificationsView struct {
	Page     page
	Failures []deliveryFailureView
}

// serveAdminNotifications lists the deliveries given up on, newest first,
// for admins.
func (s *Server) serveAdminNotifications(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := catalog.AuthorizeAdminister(auth.PrincipalFrom(ctx), "the failed notifications page"); err != nil {
		return withMessage(err, refusalMessage(err))
	}
	fs, err := s.store.NotificationFailures(ctx, maxFailuresListed)
	if err != nil {
		return err
	}
	now := s.now()
	v := notificationsView{Page: page{Title: "Failed notifications", Section: "audit"}}
	for _, f := range fs {
		fv := deliveryFailureView{NotificationFailure: f, At: newMoment(f.At, now)}
		if f.Dataset.Name != "" {
			fv.DatasetLink = datasetPath(f.Dataset)
		}
		if f.IncidentID != 0 {
			fv.IncidentLink = incidentPath(f.IncidentID)
		}
		v.Failures = append(v.Failures, fv)
	}
	return s.render(w, r, notificationsPage(v))
}

// searchFollowView is the search page's offer to follow its query.
type searchFollowView struct {
	Query    string
	Channels []string
	Default  string
}

// searchFollow offers the signed-in reader to follow query as a saved
// search; nil for anonymous readers or without channels.
func (s *Server) searchFollow(ctx context.Context, query string) *searchFollowView {
	if auth.PrincipalFrom(ctx).Anonymous() || len(s.channelNames()) == 0 || strings.TrimSpace(query) == "" {
		return nil
	}
	return &searchFollowView{Query: query, Channels: s.channelNames(), Default: s.notifier.DefaultChannel()}
}
