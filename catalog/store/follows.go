package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file keeps notifications (follows, notifier,
// notification_failures): who follows what, how far the notifier has
// read the change log, and the deliveries given up on.

const followColumns = `id, login, kind, namespace, name, channel, created_at`

func scanFollow(row pgx.CollectableRow) (catalog.Follow, error) {
	var (
		f      catalog.Follow
		ns, nm string
	)
	err := row.Scan(&f.ID, &f.Login, &f.Kind, &ns, &nm, &f.Channel, &f.CreatedAt)
	if f.Kind == catalog.FollowDataset {
		f.Dataset = catalog.Key{Namespace: ns, Name: nm}
	} else {
		f.Name = nm
	}
	return f, err
}

// followTarget is the (namespace, name) a follow is stored under.
func followTarget(n catalog.NewFollow) (ns, name string) {
	if n.Kind == catalog.FollowDataset {
		return n.Dataset.Namespace, n.Dataset.Name
	}
	return "", strings.TrimSpace(n.Name)
}

// Follow makes login follow n on channel (already checked against the
// configuration); following again what one follows changes the channel.
func (s *Store) Follow(ctx context.Context, login string, n catalog.NewFollow, channel string) (catalog.Follow, error) {
	if err := n.Validate(); err != nil {
		return catalog.Follow{}, err
	}
	if strings.TrimSpace(login) == "" || channel == "" {
		return catalog.Follow{}, fmt.Errorf("follow: no login or channel: %w", catalog.ErrInvalid)
	}
	ns, name := followTarget(n)
	rows, err := s.pool.Query(ctx, `
		INSERT INTO follows (login, kind, namespace, name, channel, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (login, kind, namespace, name) DO UPDATE SET channel = excluded.channel
		RETURNING `+followColumns, login, string(n.Kind), ns, name, channel, s.now())
	if err == nil {
		var f catalog.Follow
		if f, err = pgx.CollectExactlyOneRow(rows, scanFollow); err == nil {
			return f, nil
		}
	}
	return catalog.Follow{}, fmt.Errorf("follow %s %s/%s: %w", n.Kind, ns, name, translate(err))
}

// Unfollow ends login's follow of n; one that login does not follow is
// ErrNotFound.
func (s *Store) Unfollow(ctx context.Context, login string, n catalog.NewFollow) error {
	if err := n.Validate(); err != nil {
		return err
	}
	ns, name := followTarget(n)
	tag, err := s.pool.Exec(ctx, `DELETE FROM follows WHERE login = $1 AND kind = $2 AND namespace = $3 AND name = $4`,
		login, string(n.Kind), ns, name)
	if err != nil {
		return fmt.Errorf("unfollow: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("unfollow: %s does not follow %s %q: %w", login, n.Kind, strings.TrimPrefix(ns+"/"+name, "/"), catalog.ErrNotFound)
	}
	return nil
}

// Follows returns what login follows, oldest first.
func (s *Store) Follows(ctx context.Context, login string) ([]catalog.Follow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+followColumns+` FROM follows WHERE login = $1 ORDER BY id`, login)
	if err != nil {
		return nil, fmt.Errorf("follows of %s: %w", login, err)
	}
	fs, err := pgx.CollectRows(rows, scanFollow)
	if err != nil {
		return nil, fmt.Errorf("follows of %s: %w", login, err)
	}
	return fs, nil
}

// Followers returns, in one statement, the follows of the datasets keys,
// of the teams, and every saved search (whose matches the caller judges).
func (s *Store) Followers(ctx context.Context, keys []catalog.Key, teams []string) ([]catalog.Follow, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT `+followColumns+` FROM follows
		WHERE (kind = 'dataset' AND (namespace, name) IN (SELECT * FROM unnest($1::text[], $2::text[])))
		   OR (kind = 'team' AND name = ANY($3))
		   OR kind = 'search'
		ORDER BY id`, nss, names, teams)
	if err != nil {
		return nil, fmt.Errorf("followers of %d datasets and %d teams: %w", len(keys), len(teams), err)
	}
	fs, err := pgx.CollectRows(rows, scanFollow)
	if err != nil {
		return nil, fmt.Errorf("followers of %d datasets and %d teams: %w", len(keys), len(teams), err)
	}
	return fs, nil
}

// Notify runs enqueue in one transaction with the notifier's position in
// the change log, which it holds locked: enqueue gets the position and
// returns the new one. Replicas that call Notify at once take turns, so
// each change is handed to enqueue once. The first position, before any
// is recorded, is start.
func (s *Store) Notify(ctx context.Context, start int64, enqueue func(ctx context.Context, tx pgx.Tx, after int64) (int64, error)) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notifier (seq) VALUES ($1) ON CONFLICT DO NOTHING`, start); err != nil {
			return err
		}
		var after int64
		if err := tx.QueryRow(ctx, `SELECT seq FROM notifier FOR UPDATE`).Scan(&after); err != nil {
			return err
		}
		last, err := enqueue(ctx, tx, after)
		if err != nil {
			return err
		}
		if last > after {
			_, err = tx.Exec(ctx, `UPDATE notifier SET seq = $1`, last)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("notify: %w", translate(err))
	}
	return nil
}

// NotifierSeq returns how far the notifier has read the change log, and
// false before it first ran.
func (s *Store) NotifierSeq(ctx context.Context) (int64, bool, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM notifier`).Scan(&seq)
	if errors.Is(err, catalog.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read notifier position: %w", err)
	}
	return seq, true, nil
}

// maxFailureBody bounds the receiver's answer kept with a failure.
const maxFailureBody = 2000

// RecordNotificationFailure records a delivery given up on; recording
// one job twice (a retry of the recording) keeps the first.
func (s *Store) RecordNotificationFailure(ctx context.Context, f catalog.NotificationFailure) error {
	if len(f.Body) > maxFailureBody {
		f.Body = f.Body[:maxFailureBody]
	}
	if f.At.IsZero() {
		f.At = s.now()
	}
	var incident, status *int64
	if f.IncidentID != 0 {
		incident = &f.IncidentID
	}
	if f.HTTPStatus != 0 {
		st := int64(f.HTTPStatus)
		status = &st
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO notification_failures (job_id, channel, recipient, event, namespace, name, incident_id, status, attempts, http_status, error, body, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (job_id) DO NOTHING`,
		f.JobID, f.Channel, f.Recipient, f.Event, f.Dataset.Namespace, f.Dataset.Name, incident, f.Status, f.Attempts, status,
		f.Error, strings.ToValidUTF8(f.Body, "�"), f.At)
	if err != nil {
		return fmt.Errorf("record failed delivery of job %d: %w", f.JobID, err)
	}
	return nil
}

// NotificationFailures returns the newest limit deliveries given up on,
// newest first.
func (s *Store) NotificationFailures(ctx context.Context, limit int) ([]catalog.NotificationFailure, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, job_id, channel, recipient, event, namespace, name, coalesce(incident_id, 0), status, attempts,
			coalesce(http_status, 0), error, body, at
		FROM notification_failures ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("failed deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.NotificationFailure, error) {
		var f catalog.NotificationFailure
		err := row.Scan(&f.ID, &f.JobID, &f.Channel, &f.Recipient, &f.Event, &f.Dataset.Namespace, &f.Dataset.Name, &f.IncidentID,
			&f.Status, &f.Attempts, &f.HTTPStatus, &f.Error, &f.Body, &f.At)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("failed deliveries: %w", err)
	}
	return out, nil
}
