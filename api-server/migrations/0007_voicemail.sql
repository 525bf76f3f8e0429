-- When a voicemail (an inbound call's recording) was marked heard (NULL: new).
ALTER TABLE calls ADD COLUMN voicemail_heard_at BIGINT;
