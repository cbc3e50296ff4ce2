package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/errkind"
	"almanac/ui/markdown"
)

// People edit a dataset's description, column descriptions, owners and
// tags on its page, with plain HTML forms that post to the /edit/ routes
// and work without JavaScript: a successful edit redirects back to the
// page (Post/Redirect/Get); a refused one shows the page again with the
// form open, what was typed, and why; "Preview" shows the page with the
// description rendered and writes nothing. The store decides who may edit
// (catalog.AuthorizeEdit, inside the edit's transaction) and records every
// edit in the audit log. With JavaScript (static/edit.js), previews come
// without reloading the page.

// maxFormBytes bounds an edit form's body: a long description with room
// to spare.
const maxFormBytes = 1 << 20

// Forms of the dataset page, as formState.Name says which was posted.
const (
	formDescription = "description"
	formColumn      = "column"
	formOwners      = "owners"
	formTags        = "tags"
	formLinks       = "links"
)

// editView is what the dataset page needs to offer editing: whether the
// reader may edit, where the forms post, and the state of a form posted
// back to the page.
type editView struct {
	// Can says the reader may edit the dataset: the page shows its forms.
	Can bool
	// Login is where an anonymous reader logs in to edit; "" for a
	// reader who is logged in, or a server without logins.
	Login string
	// Who is the reader's login, shown beside the forms.
	Who string
	// The forms' addresses, and the dataset's edit history.
	DescriptionAction, ColumnAction, OwnersAction, TagsAction, LinksAction, History string
	// Form is the form posted back, if any.
	Form formState
	// Stray is the error of a form the page no longer shows (a column
	// gone since the page was read), shown at the top instead.
	Stray string
	// refusal is why the reader may not edit (catalog.AuthorizeEdit);
	// nil when they may.
	refusal error
}

// formState is a form posted back to the page: which, with what, and the
// error or preview to show with it.
type formState struct {
	Name   string // formDescription, formColumn, formOwners or formTags
	Column string // the column, for formColumn
	Error  string
	// Draft is the description as typed; Preview its rendering, when
	// the reader asked for one.
	Draft      string
	Previewing bool
	Preview    markdown.HTML
	// What an owners or tags form held.
	Owner catalog.Owner
	Tag   string
	// What a links form held.
	LinkTitle, LinkURL string
}

// newEditView says what reader p may do on the page of d.
func (s *Server) newEditView(p catalog.Principal, d catalog.Dataset) editView {
	e := editView{
		DescriptionAction: editPath("description", d.Key),
		ColumnAction:      editPath("column", d.Key),
		OwnersAction:      editPath("owners", d.Key),
		TagsAction:        editPath("tags", d.Key),
		LinksAction:       editPath("links", d.Key),
		History:           historyPath(d.Key),
		refusal:           catalog.AuthorizeEdit(p, d),
	}
	e.Can = e.refusal == nil
	if p.Anonymous() {
		e.Login = s.loginLink(datasetPath(d.Key))
	} else {
		e.Who = p.Login
	}
	return e
}

// posted reports whether the form posted back is the one named (and, for
// a column's, of that column): the page shows it open.
func (e editView) posted(form, column string) bool {
	return e.Form.Name == form && e.Form.Column == column
}

// draft is the text a description form shows: what was posted back, else
// the description as it stands.
func (e editView) draft(form, column, current string) string {
	if e.posted(form, column) {
		return e.Form.Draft
	}
	return current
}

// editPath is the address an edit form of the dataset k posts to:
// /edit/{what}/{namespace}/{name}.
func editPath(what string, k catalog.Key) string {
	return "/edit/" + what + strings.TrimPrefix(datasetPath(k), "/datasets")
}

// historyPath is the address of the dataset k's edit history.
func historyPath(k catalog.Key) string {
	return "/history" + strings.TrimPrefix(datasetPath(k), "/datasets")
}

// loginLink is the login page, returning to next (a path of the portal)
// afterwards; "" when the server has no login page.
func (s *Server) loginLink(next string) string {
	if s.loginPath == "" {
		return ""
	}
	return s.loginPath + "?" + url.Values{"next": {next}}.Encode()
}

// editRequest is one posted form, read: what to show if the page comes
// back, where on the page the edit lands, and the edit itself.
type editRequest struct {
	form   formState
	anchor string
	// apply makes the edit as p on the dataset id; nil for a preview.
	apply func(ctx context.Context, p catalog.Principal, id int64) error
}

// postDescription sets (or, empty, withdraws) the reader's description of
// a dataset, or previews it.
func (s *Server) postDescription(w http.ResponseWriter, r *http.Request) error {
	return s.serveEdit(w, r, func(r *http.Request) (editRequest, error) {
		text := formText(r, "description")
		req := editRequest{form: formState{Name: formDescription, Draft: text}, anchor: "description"}
		if r.PostForm.Get("action") == "preview" {
			req.form.Previewing, req.form.Preview = true, markdown.Render(text)
			return req, nil
		}
		req.apply = func(ctx context.Context, p catalog.Principal, id int64) error {
			_, err := s.store.SetDatasetDescription(ctx, p, id, text)
			return err
		}
		return req, nil
	})
}

// postColumnDescription sets (or withdraws) the reader's description of a
// column, or previews it.
func (s *Server) postColumnDescription(w http.ResponseWriter, r *http.Request) error {
	return s.serveEdit(w, r, func(r *http.Request) (editRequest, error) {
		col := r.PostForm.Get("column")
		if col == "" {
			return editRequest{}, invalid("The form names no column.")
		}
		text := formText(r, "description")
		req := editRequest{form: formState{Name: formColumn, Column: col, Draft: text}, anchor: "col-" + col}
		if r.PostForm.Get("action") == "preview" {
			req.form.Previewing, req.form.Preview = true, markdown.Render(text)
			return req, nil
		}
		req.apply = func(ctx context.Context, p catalog.Principal, id int64) error {
			_, err := s.store.SetColumnDescription(ctx, p, id, col, text)
			return err
		}
		return req, nil
	})
}

// postOwners adds or removes an owner of a dataset.
func (s *Server) postOwners(w http.ResponseWriter, r *http.Request) error {
	return s.serveEdit(w, r, func(r *http.Request) (editRequest, error) {
		o := catalog.Owner{
			Name: strings.TrimSpace(r.PostForm.Get("name")),
			Kind: catalog.OwnerKind(r.PostForm.Get("kind")),
			Type: strings.TrimSpace(r.PostForm.Get("type")),
		}
		req := editRequest{form: formState{Name: formOwners, Owner: o}, anchor: "owners"}
		switch op := r.PostForm.Get("op"); op {
		case "add":
			req.apply = func(ctx context.Context, p catalog.Principal, id int64) error {
				_, err := s.store.AddOwner(ctx, p, id, o)
				return err
			}
		case "remove":
			req.form.Owner = catalog.Owner{} // nothing to type again
			req.apply = func(ctx context.Context, p catalog.Principal, id int64) error {
				_, err := s.store.RemoveOwner(ctx, p, id, o)
				return err
			}
		default:
			return editRequest{}, invalid(fmt.Sprintf("Unknown owner operation %q: want add or remove.", op))
		}
		return req, nil
	})
}

// postTags adds or removes a tag of a dataset.
func (s *Server) postTags(w http.ResponseWriter, r *http.Request) error {
	return s.serveEdit(w, r, func(r *http.Request) (editRequest, error) {
		tag := r.PostForm.Get("tag")
		req := editRequest{form: formState{Name: formTags, Tag: tag}, anchor: "tags"}
		switch op := r.PostForm.Get("op"); op {
		case "add":
			req.apply = func(ctx context.Context, p catalog.Principal, id int64) error {
				_, err := s.store.AddTag(ctx, p, id, tag)
				return err
			}
		case "remove":
			req.form.Tag = ""
			req.apply = func(ctx context.Context, p catalog.Principal, id int64) error {
				_, err := s.store.RemoveTag(ctx, p, id, tag)
				return err
			}
		default:
			return editRequest{}, invalid(fmt.Sprintf("Unknown tag operation %q: want add or remove.", op))
		}
		return req, nil
	})
}

// postLinks adds or removes an external link of a dataset.
func (s *Server) postLinks(w http.ResponseWriter, r *http.Request) error {
	return s.serveEdit(w, r, func(r *http.Request) (editRequest, error) {
		title, url := strings.TrimSpace(r.PostForm.Get("title")), strings.TrimSpace(r.PostForm.Get("url"))
		req := editRequest{form: formState{Name: formLinks, LinkTitle: title, LinkURL: url}, anchor: "links"}
		switch op := r.PostForm.Get("op"); op {
		case "add":
			req.apply = func(ctx context.Context, p catalog.Principal, id int64) error {
				_, err := s.store.AddDatasetLink(ctx, p, id, title, url)
				return err
			}
		case "remove":
			req.form.LinkTitle, req.form.LinkURL = "", ""
			req.apply = func(ctx context.Context, p catalog.Principal, id int64) error {
				_, err := s.store.RemoveDatasetLink(ctx, p, id, url)
				return err
			}
		default:
			return editRequest{}, invalid(fmt.Sprintf("Unknown link operation %q: want add or remove.", op))
		}
		return req, nil
	})
}

// serveEdit reads an edit form of the dataset its address names, and
// makes the edit: on success it redirects to the dataset's page; when the
// edit is refused for what the form holds (an invalid tag, a column or
// tag that is not there), or the reader asked for a preview, it shows the
// page again with the form as posted. Refusals of who is asking (401,
// 403) and failures show the error page.
func (s *Server) serveEdit(w http.ResponseWriter, r *http.Request, read func(*http.Request) (editRequest, error)) error {
	key := catalog.Key{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	if err := key.Validate(); err != nil {
		return withMessage(err, "An edit address needs a namespace and a name: /edit/…/{namespace}/{name}.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return invalid(fmt.Sprintf("The form could not be read (at most %d KiB): %v.", maxFormBytes>>10, err))
	}
	req, err := read(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	if p.Anonymous() {
		// Said before anything is read, as the store would say after.
		return withMessage(fmt.Errorf("edit %s: %w", key, catalog.ErrUnauthenticated), "Editing needs a login.")
	}
	id, err := s.store.FindDataset(ctx, key)
	if err != nil {
		return err
	}
	if id == 0 {
		return notFound(fmt.Sprintf("There is no dataset %s in namespace %s.", key.Name, key.Namespace))
	}
	status := http.StatusOK
	if req.apply != nil {
		err := req.apply(ctx, p, id)
		if err == nil {
			http.Redirect(w, r, datasetPath(key)+"#"+url.PathEscape(req.anchor), http.StatusSeeOther)
			return nil
		}
		if !shownInForm(err) {
			return withMessage(err, refusalMessage(err))
		}
		status, req.form.Error = statusOf(err), refusalMessage(err)
	}
	d, err := s.dataset(ctx, key)
	if err != nil {
		return err
	}
	v, act, err := s.datasetPage(ctx, d)
	if err != nil {
		return err
	}
	if v.Edit.refusal != nil {
		return withMessage(v.Edit.refusal, refusalMessage(v.Edit.refusal))
	}
	v.Edit.Form = req.form
	if req.form.Name == formColumn && !slices.ContainsFunc(v.Columns, func(c columnView) bool { return c.Name == req.form.Column }) {
		v.Edit.Stray = req.form.Error
	}
	return s.renderStatus(w, r, status, datasetPage(v, act))
}

// shownInForm reports whether a refused edit is about what the form holds,
// which the page shows beside the form; otherwise it is about who asks,
// or a failure, for the error page.
func shownInForm(err error) bool {
	return errors.Is(err, catalog.ErrInvalid) || errors.Is(err, catalog.ErrNotFound) || errors.Is(err, catalog.ErrConflict)
}

// refusalMessage is why an edit was refused, for the person who made it:
// the innermost message of err, which names what is wrong, without the
// operations around it or the name of its kind.
func refusalMessage(err error) string {
	msg := err.Error()
	for e := err; e != nil; e = errors.Unwrap(e) {
		inner := errors.Unwrap(e)
		if inner == nil {
			break
		}
		if isKind(inner) {
			msg = strings.TrimSuffix(e.Error(), ": "+inner.Error())
			break
		}
	}
	// Sentence case, unless the message starts with a name (a login, a
	// dataset), whose case is its own.
	if first, _, _ := strings.Cut(msg, " "); strings.IndexFunc(first, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
		r, n := utf8.DecodeRuneInString(msg)
		msg = string(unicode.ToUpper(r)) + msg[n:]
	}
	return msg + "."
}

// isKind reports whether err is one of the catalog's error kinds itself.
func isKind(err error) bool {
	for _, k := range errkind.Table {
		if k.Err == err {
			return true
		}
	}
	return false
}

// formText is a text field of a posted form, with the carriage returns
// browsers send at line ends taken out.
func formText(r *http.Request, name string) string {
	return strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get(name), "\r\n", "\n"))
}

// postPreview renders the Markdown a description form holds, for the
// page's script to show as a preview: a fragment of sanitized HTML.
// Only people who are logged in may ask, so that the portal is no
// renderer for everyone.
func (s *Server) postPreview(w http.ResponseWriter, r *http.Request) error {
	if auth.PrincipalFrom(r.Context()).Anonymous() {
		return withMessage(fmt.Errorf("preview: %w", catalog.ErrUnauthenticated), "Previewing needs a login.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return invalid(fmt.Sprintf("The form could not be read (at most %d KiB): %v.", maxFormBytes>>10, err))
	}
	h := markdown.Render(formText(r, "description"))
	if h == "" {
		h = markdown.Render("*Nothing to preview: an empty description withdraws yours.*")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(h)) // a failed write means the client went away
	return nil
}
