package graph

import (
	"context"
	"fmt"
	"strings"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/graph/model"
)

// errNotifyOff answers following on a server without notifications.
var errNotifyOff = fmt.Errorf("notifications are not enabled on this server: %w", catalog.ErrNotEnabled)

// newFollow is the catalog's follow of a FollowInput.
func newFollow(in model.FollowInput) catalog.NewFollow {
	f := catalog.NewFollow{Kind: catalog.FollowKind(strings.ToLower(string(in.Kind))), Channel: deref(in.Channel)}
	if f.Kind == catalog.FollowDataset {
		f.Dataset = catalog.Key{Namespace: deref(in.Namespace), Name: in.Name}
	} else {
		f.Name = in.Name
	}
	return f
}

// followModel is f as the schema has it, with its dataset through the
// loaders.
func followModel(ctx context.Context, f catalog.Follow) (model.Follow, error) {
	m := model.Follow{Kind: model.FollowKind(strings.ToUpper(string(f.Kind))), Name: f.Name, Channel: f.Channel, CreatedAt: f.CreatedAt}
	if f.Kind == catalog.FollowDataset {
		m.Name = f.Dataset.String()
		d, err := nullIfNotFound(datasetByKey(ctx, f.Dataset))
		if err != nil {
			return model.Follow{}, err
		}
		m.Dataset = d
	}
	return m, nil
}

func (r *mutationResolver) follow(ctx context.Context, in model.FollowInput) (*model.Follow, error) {
	if r.notifier == nil {
		return nil, errNotifyOff
	}
	f, err := r.notifier.Follow(ctx, auth.PrincipalFrom(ctx), newFollow(in))
	if err != nil {
		return nil, err
	}
	m, err := followModel(ctx, f)
	return &m, err
}

func (r *mutationResolver) unfollow(ctx context.Context, in model.FollowInput) (bool, error) {
	if r.notifier == nil {
		return false, errNotifyOff
	}
	if err := r.notifier.Unfollow(ctx, auth.PrincipalFrom(ctx), newFollow(in)); err != nil {
		return false, err
	}
	return true, nil
}

func (r *queryResolver) myFollows(ctx context.Context) ([]model.Follow, error) {
	p := auth.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, fmt.Errorf("myFollows needs a login: %w", catalog.ErrUnauthenticated)
	}
	fs, err := r.store.Follows(ctx, p.Login)
	if err != nil {
		return nil, err
	}
	out := make([]model.Follow, 0, len(fs))
	for _, f := range fs {
		m, err := followModel(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
