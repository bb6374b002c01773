PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
);
INSERT INTO schema_migrations VALUES(1,'submissions, attachments, evidence, outbox',1796422893733);
INSERT INTO schema_migrations VALUES(2,'typed evidence: case, destination and message type columns; callback replay table',1796442727758);
CREATE TABLE submissions (
    submission_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('seen', 'stored')),
    seen_at INTEGER NOT NULL,
    stored_at INTEGER,
    envelope TEXT,
    decision TEXT CHECK (decision IN ('accepted', 'rejected')),
    problems TEXT,
    ack_policy TEXT CHECK (ack_policy IN ('after-store', 'after-forward')),
    acked_at INTEGER,
    ack_set TEXT
, case_id TEXT, destination_id TEXT, message_type TEXT);
INSERT INTO submissions VALUES('11111111-1111-4111-8111-111111111111','stored',1800000002000,1800000002000,'{"submission":{"id":"a1","caseId":"0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c","destinationId":"879ee109-a690-4db8-ab32-424284184d7d"},"message":{"type":"baugenehmigung.antrag.0200"}}','accepted',NULL,'after-store',NULL,NULL,'0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c','879ee109-a690-4db8-ab32-424284184d7d','baugenehmigung.antrag.0200');
INSERT INTO submissions VALUES('22222222-2222-4222-8222-222222222222','stored',1800000002000,1800000002000,NULL,'rejected','[{"type":"https://schema.fitko.de/fit-connect/events/problems/hash-mismatch","title":"Prüfsumme stimmt nicht","detail":"Der SHA-512-Hashwert des Inhalts stimmt nicht mit den Metadaten überein.","instance":"data"}]','after-store',NULL,NULL,'0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c',NULL,NULL);
INSERT INTO submissions VALUES('33333333-3333-4333-8333-333333333333','stored',1800000002000,1800000002000,NULL,'rejected','[{"type":"https://schema.fitko.de/fit-connect/events/problems/invalid-event-log","title":"Inkonsistentes Event-Log","detail":"Das Event-Log enthält kein gültiges submit-submission-Ereignis.","instance":"submission"}]','after-store',NULL,NULL,NULL,NULL,NULL);
INSERT INTO submissions VALUES('44444444-4444-4444-8444-444444444444','stored',1800000002000,1800000002000,'{"submission":{"id":"a1","caseId":"0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c","destinationId":"879ee109-a690-4db8-ab32-424284184d7d"},"message":{"type":"baugenehmigung.antrag.0200"}}','accepted',NULL,'after-store',1800000002000,'ack.set.sig','0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c','879ee109-a690-4db8-ab32-424284184d7d','baugenehmigung.antrag.0200');
INSERT INTO submissions VALUES('55555555-5555-4555-8555-555555555555','seen',1800000002000,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
CREATE TABLE attachments (
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    attachment_id TEXT NOT NULL,
    filename TEXT,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (submission_id, attachment_id)
);
INSERT INTO attachments VALUES('11111111-1111-4111-8111-111111111111','5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1','plan.pdf','application/pdf',8,'86edbaa24831badfa0a8b04bb410141e2ee4182b6d0014493fe262a7a331c20b');
INSERT INTO attachments VALUES('22222222-2222-4222-8222-222222222222','5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1','plan.pdf','application/pdf',8,'86edbaa24831badfa0a8b04bb410141e2ee4182b6d0014493fe262a7a331c20b');
INSERT INTO attachments VALUES('33333333-3333-4333-8333-333333333333','5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1','plan.pdf','application/pdf',8,'86edbaa24831badfa0a8b04bb410141e2ee4182b6d0014493fe262a7a331c20b');
INSERT INTO attachments VALUES('44444444-4444-4444-8444-444444444444','5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1','plan.pdf','application/pdf',8,'86edbaa24831badfa0a8b04bb410141e2ee4182b6d0014493fe262a7a331c20b');
CREATE TABLE evidence (
    submission_id TEXT PRIMARY KEY REFERENCES submissions (submission_id),
    submit_set TEXT NOT NULL,
    auth_tags TEXT NOT NULL,
    hashes TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    decided_at INTEGER NOT NULL
);
INSERT INTO evidence VALUES('11111111-1111-4111-8111-111111111111','eyJhbGciOiJQUzUxMiIsImtpZCI6Ik41Y3JfRHk5YWVqTTc3aHFWZ09JTTAyd2c1U0MyWnQ0VHFOeWRlNHBtZGMiLCJ0eXAiOiJzZWNldmVudCtqd3QifQ.eyIkc2NoZW1hIjoiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3Qvc2V0LXBheWxvYWQvMS4wLjAvc2V0LXBheWxvYWQuc2NoZW1hLmpzb24iLCJqdGkiOiIxYjU0ZWI3YS0zYTMwLTQ4NzctODU4MC03YjU4MTk3YzlkY2QiLCJpc3MiOiJodHRwczovL2RlbGl2ZXJ5LmV4YW1wbGUiLCJpYXQiOjE4MDAwMDAwMDAsInN1YiI6InN1Ym1pc3Npb246MTExMTExMTEtMTExMS00MTExLTgxMTEtMTExMTExMTExMTExIiwidHhuIjoiY2FzZTowYjRlN2E2Yy0zZjFkLTRjOGUtOWEyYi01ZDZlN2Y4YTliMGMiLCJldmVudHMiOnsiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3QvZXZlbnRzL3N1Ym1pdC1zdWJtaXNzaW9uIjp7ImF1dGhlbnRpY2F0aW9uVGFncyI6eyJtZXRhZGF0YSI6InJKekxLRjNBcFBRTi1nVWZLLUFoZ3ciLCJkYXRhIjoiTGJLUnd1bjJ0QWNhcUFkeEdKUW9ZZyIsImF0dGFjaG1lbnRzIjp7IjVlMGY2YTM5LTNjNTUtNGYzOC05ZDQ3LTBhOGZmMGEwZTdhMSI6IlJIN0ZXNVVnNnFEZ3FLd081NmcxUWcifX19fX0.fb3dQIgLKH0lk23UZow3Ze71eJmmVtL6ZxbzmXG3eIUqBv0LH2UyUhVMCkVB6IBAl9KVqjyuWnsbLiG1zeIqLTlVg3LS4vRzQCphbbF2LMZ4CCXMD85vXwW_KDmJjVQT5AyDKtta-GVnOqc57DvXEEu0O4ASUK3e3SOU3t6wcIk1uqWTawbxLIIRSSw999hdxD-QX9rc6cbpImWB_kkLUVKE7D0d6FrDAKD3A9FVBJUwL59ymbxbBW2ODv-gmXf_fHWt_g8XCAAaf416_5r4JN0PQ4Brjsm4abM2OIV3naBG84ceIhVtt2nZ6uhY999TTDs2n-7_qWdz8qbnPJ4FuPtJm-zU2h8Y4PALIXaLaRVMgF_K6MZGlgbfH5f_Wjh7y5FH6jy3xIdBHw3i9c7p0wH1HtYDoyQsv_n4_ML_ExwY744HR8kFhNOpct9uD36DLSCdNjJ5sebDv85LGMN8QjWkiE7amWCwqWIEHUPmbMRgTyhOGCDCpYVJ41Q0k_2ISR-3qVPJYmTHhpIRveglZp8yF8DGEIcVJvTk0TO3E_95_borBBmVPvl6GhI4ghd_FYOWNpSOA2Ffnx_iZyG79cmzGVNf64q6RnmiJdaYY40Zp2Cnnnn5r1bi-6XbSpnZdK7Ce6qjRGa7l5TtRDZolZeqozPdNZBlIV_PcZkN7II','{"metadata":"rJzLKF3ApPQN-gUfK-Ahgw","data":"LbKRwun2tAcaqAdxGJQoYg","attachments":{"5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1":"RH7FW5Ug6qDgqKwO56g1Qg"}}','[["data","sha512:00"]]',1800000000000,1800000001000);
INSERT INTO evidence VALUES('22222222-2222-4222-8222-222222222222','eyJhbGciOiJQUzUxMiIsImtpZCI6Ik41Y3JfRHk5YWVqTTc3aHFWZ09JTTAyd2c1U0MyWnQ0VHFOeWRlNHBtZGMiLCJ0eXAiOiJzZWNldmVudCtqd3QifQ.eyIkc2NoZW1hIjoiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3Qvc2V0LXBheWxvYWQvMS4wLjAvc2V0LXBheWxvYWQuc2NoZW1hLmpzb24iLCJqdGkiOiIxOTU3YTU0OS1iN2YxLTQwYWQtYjlkNS1lMjY2ZjRmZDY4ZTciLCJpc3MiOiJodHRwczovL2RlbGl2ZXJ5LmV4YW1wbGUiLCJpYXQiOjE4MDAwMDAwMDAsInN1YiI6InN1Ym1pc3Npb246MjIyMjIyMjItMjIyMi00MjIyLTgyMjItMjIyMjIyMjIyMjIyIiwidHhuIjoiY2FzZTowYjRlN2E2Yy0zZjFkLTRjOGUtOWEyYi01ZDZlN2Y4YTliMGMiLCJldmVudHMiOnsiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3QvZXZlbnRzL3N1Ym1pdC1zdWJtaXNzaW9uIjp7ImF1dGhlbnRpY2F0aW9uVGFncyI6eyJtZXRhZGF0YSI6InJKekxLRjNBcFBRTi1nVWZLLUFoZ3ciLCJkYXRhIjoiTGJLUnd1bjJ0QWNhcUFkeEdKUW9ZZyIsImF0dGFjaG1lbnRzIjp7IjVlMGY2YTM5LTNjNTUtNGYzOC05ZDQ3LTBhOGZmMGEwZTdhMSI6IlJIN0ZXNVVnNnFEZ3FLd081NmcxUWcifX19fX0.EFc85w5nmx3tWpgE1hoQ_3BoLwUcq5xjI6Nuj0z0tg5KTzTYwh6R6r7bBuuI6vFjXbzUeDS2Ru7v086wNQoRm2WfuvULSzEqsjV-tChW9sRxl3lA2N4DyvBuRHIaWvSWoX4B77CQhkB3shwQWKXrzFkTWGbGBsw_AWa4DzwQQ61aJjtpInjlG28WuZTb-RWltlq6ZwkfaGq0L7r6FwKUkZU_1Ockb11VNgGqQ_NQVVqKf_JiHh3zkjy9jZ-lF9OYX0jJcgVMdDOepsjyCmgY93LxK4YSTxs6pxPW8I32lIivqdxIvQjokHyOrRsAVzf4a0vQZ5mjZSwgjWYw5lT4_GGkaEZO4Trfrhd5_Zq9ZhWbAiEzkO29pCWVh4PMfk3yQvHrxO3ta7Xrb-3-LEPt9plLoO6rgnXz1ORO1PQRsbZ56UDwLLs1enjbP-exSUVl7ceeDTjhBfLXkxD5TITP7NG-jeKuy-GEE4hQRlSR2iQGhRGg9xWUqkabKRjADcbtDayBw2zS3gH6gd38qMjAf2cat_iV7hAxIa3r-GiV1-vyHcvAhi3Zo9daGFyh41PFbAZR09CxMJ4hcgaFn3mMB50lhIOdEKuFiCfgkLtuRhIyF8x6B9XeCUzSvJgbt8OYWHbu61ygMlLpKuvT7O2UAQbvBTEiU-rNsPrRvjyz-JA','{"metadata":"rJzLKF3ApPQN-gUfK-Ahgw","data":"LbKRwun2tAcaqAdxGJQoYg","attachments":{"5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1":"RH7FW5Ug6qDgqKwO56g1Qg"}}','[["data","sha512:00"]]',1800000000000,1800000001000);
INSERT INTO evidence VALUES('33333333-3333-4333-8333-333333333333','','null','[["data","sha512:00"]]',1800000000000,1800000001000);
INSERT INTO evidence VALUES('44444444-4444-4444-8444-444444444444','eyJhbGciOiJQUzUxMiIsImtpZCI6Ik41Y3JfRHk5YWVqTTc3aHFWZ09JTTAyd2c1U0MyWnQ0VHFOeWRlNHBtZGMiLCJ0eXAiOiJzZWNldmVudCtqd3QifQ.eyIkc2NoZW1hIjoiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3Qvc2V0LXBheWxvYWQvMS4wLjAvc2V0LXBheWxvYWQuc2NoZW1hLmpzb24iLCJqdGkiOiIyOTRmOTYxMy02N2IxLTQ1OWItYTg4Zi01ZmZkNWRjZTI4YjUiLCJpc3MiOiJodHRwczovL2RlbGl2ZXJ5LmV4YW1wbGUiLCJpYXQiOjE4MDAwMDAwMDAsInN1YiI6InN1Ym1pc3Npb246NDQ0NDQ0NDQtNDQ0NC00NDQ0LTg0NDQtNDQ0NDQ0NDQ0NDQ0IiwidHhuIjoiY2FzZTowYjRlN2E2Yy0zZjFkLTRjOGUtOWEyYi01ZDZlN2Y4YTliMGMiLCJldmVudHMiOnsiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3QvZXZlbnRzL3N1Ym1pdC1zdWJtaXNzaW9uIjp7ImF1dGhlbnRpY2F0aW9uVGFncyI6eyJtZXRhZGF0YSI6InJKekxLRjNBcFBRTi1nVWZLLUFoZ3ciLCJkYXRhIjoiTGJLUnd1bjJ0QWNhcUFkeEdKUW9ZZyIsImF0dGFjaG1lbnRzIjp7IjVlMGY2YTM5LTNjNTUtNGYzOC05ZDQ3LTBhOGZmMGEwZTdhMSI6IlJIN0ZXNVVnNnFEZ3FLd081NmcxUWcifX19fX0.JOcCQ-crj_3rntD98D7hw2EX3YSffeTYcJCiJJh2xqeJkhGpbgqktpvj_7xfyBL8cK_1iD1FibegY1GsTS1NIVZBySiECXFyQru3MD5hqZxhUhq2GFb8yyMML9MhatkZPnSD8dAWMEnUtPJwGr-kDG8p3ivMWtUh5Eqokj2GUrQRcL-84R_0g7fZ15fw5DUqWN4NPSEcSCZjgpgzoXbGhiZSAAuAKPK5Ii2_HT9WF3sdnzXhxbp25XHIWErsi4_wTjy8YUl6FiP831lqhhqhFbAqV63ksXaH5vh0qLpAhaY77n1cc8jD0K_8aTtcZvSDhJNWkkk8q3eqUBgxH6mBQ_PeZCCBkztR__qZwPy4c1rmOM66Gt5qZtO42m9X4kzYid_0pIwSxbmRWCdnObHxSLTe-GInk6KG2GtURqcfFUN-PuJ2N9qjSVi94ePi3L_y-cA-klAa7O9_jZcLSb7nrSSuQPWm7S0H7cx0kohMMLVMpTjV-GLJtWfFgMDFZkfrA9MGkaipOqPXz6txToOZG1py_KFrbEZhaySMOTeHCZ_LCBzp-m4L01rJEdLIUbtw0YiVbTEaTSe7rZrKYex-_Qa12CEWRbffRaQw8Ra9zInbOat-UOxPvN6I0uddumQARbqHwMqXbxxBLimstNYV3ztQ-M8ALFfOoZy5ldMdavY','{"metadata":"rJzLKF3ApPQN-gUfK-Ahgw","data":"LbKRwun2tAcaqAdxGJQoYg","attachments":{"5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1":"RH7FW5Ug6qDgqKwO56g1Qg"}}','[["data","sha512:00"]]',1800000000000,1800000001000);
CREATE TABLE outbox (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    upstream TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    finished_at INTEGER,
    UNIQUE (submission_id, upstream)
);
INSERT INTO outbox VALUES(1,'11111111-1111-4111-8111-111111111111','bau','pending',0,1800000002000,1800000002000,NULL,NULL,NULL,NULL);
INSERT INTO outbox VALUES(2,'44444444-4444-4444-8444-444444444444','bau','pending',0,1800000002000,1800000002000,NULL,NULL,NULL,NULL);
CREATE TABLE callbacks_seen (
    destination_id TEXT NOT NULL,
    timestamp_secs INTEGER NOT NULL,
    mac TEXT NOT NULL,
    PRIMARY KEY (destination_id, timestamp_secs, mac)
);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('outbox',2);
CREATE INDEX submissions_unacked ON submissions (stored_at)
    WHERE state = 'stored' AND acked_at IS NULL;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_state ON outbox (state, job_id);
COMMIT;
