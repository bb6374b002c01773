--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: v2fixture; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA v2fixture;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: attachment_chunks; Type: TABLE; Schema: v2fixture; Owner: -
--

CREATE TABLE v2fixture.attachment_chunks (
    submission_id text NOT NULL,
    attachment_id text NOT NULL,
    seq integer NOT NULL,
    data bytea NOT NULL
);


--
-- Name: attachments; Type: TABLE; Schema: v2fixture; Owner: -
--

CREATE TABLE v2fixture.attachments (
    submission_id text NOT NULL,
    attachment_id text NOT NULL,
    filename text,
    media_type text NOT NULL,
    size bigint NOT NULL,
    sha256 text NOT NULL
);


--
-- Name: callbacks_seen; Type: TABLE; Schema: v2fixture; Owner: -
--

CREATE TABLE v2fixture.callbacks_seen (
    destination_id text NOT NULL,
    timestamp_secs bigint NOT NULL,
    mac text NOT NULL
);


--
-- Name: evidence; Type: TABLE; Schema: v2fixture; Owner: -
--

CREATE TABLE v2fixture.evidence (
    submission_id text NOT NULL,
    submit_set text NOT NULL,
    auth_tags text NOT NULL,
    hashes text NOT NULL,
    received_at bigint NOT NULL,
    decided_at bigint NOT NULL
);


--
-- Name: outbox; Type: TABLE; Schema: v2fixture; Owner: -
--

CREATE TABLE v2fixture.outbox (
    job_id bigint NOT NULL,
    submission_id text NOT NULL,
    upstream text NOT NULL,
    state text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    created_at bigint NOT NULL,
    next_attempt_at bigint NOT NULL,
    lease_owner text,
    lease_until bigint,
    last_error text,
    finished_at bigint,
    CONSTRAINT outbox_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'delivered'::text, 'dead'::text])))
);


--
-- Name: outbox_job_id_seq; Type: SEQUENCE; Schema: v2fixture; Owner: -
--

ALTER TABLE v2fixture.outbox ALTER COLUMN job_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME v2fixture.outbox_job_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: schema_migrations; Type: TABLE; Schema: v2fixture; Owner: -
--

CREATE TABLE v2fixture.schema_migrations (
    version bigint NOT NULL,
    name text NOT NULL,
    applied_at bigint NOT NULL
);


--
-- Name: submissions; Type: TABLE; Schema: v2fixture; Owner: -
--

CREATE TABLE v2fixture.submissions (
    submission_id text NOT NULL,
    state text NOT NULL,
    seen_at bigint NOT NULL,
    stored_at bigint,
    envelope text,
    decision text,
    problems text,
    ack_policy text,
    acked_at bigint,
    ack_set text,
    case_id text,
    destination_id text,
    message_type text,
    CONSTRAINT submissions_ack_policy_check CHECK ((ack_policy = ANY (ARRAY['after-store'::text, 'after-forward'::text]))),
    CONSTRAINT submissions_decision_check CHECK ((decision = ANY (ARRAY['accepted'::text, 'rejected'::text]))),
    CONSTRAINT submissions_state_check CHECK ((state = ANY (ARRAY['seen'::text, 'stored'::text])))
);


--
-- Data for Name: attachment_chunks; Type: TABLE DATA; Schema: v2fixture; Owner: -
--

INSERT INTO v2fixture.attachment_chunks VALUES ('11111111-1111-4111-8111-111111111111', '5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1', 0, '\x255044462d312e37');
INSERT INTO v2fixture.attachment_chunks VALUES ('22222222-2222-4222-8222-222222222222', '5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1', 0, '\x255044462d312e37');
INSERT INTO v2fixture.attachment_chunks VALUES ('33333333-3333-4333-8333-333333333333', '5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1', 0, '\x255044462d312e37');
INSERT INTO v2fixture.attachment_chunks VALUES ('44444444-4444-4444-8444-444444444444', '5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1', 0, '\x255044462d312e37');


--
-- Data for Name: attachments; Type: TABLE DATA; Schema: v2fixture; Owner: -
--

INSERT INTO v2fixture.attachments VALUES ('11111111-1111-4111-8111-111111111111', '5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1', 'plan.pdf', 'application/pdf', 8, '86edbaa24831badfa0a8b04bb410141e2ee4182b6d0014493fe262a7a331c20b');
INSERT INTO v2fixture.attachments VALUES ('22222222-2222-4222-8222-222222222222', '5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1', 'plan.pdf', 'application/pdf', 8, '86edbaa24831badfa0a8b04bb410141e2ee4182b6d0014493fe262a7a331c20b');
INSERT INTO v2fixture.attachments VALUES ('33333333-3333-4333-8333-333333333333', '5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1', 'plan.pdf', 'application/pdf', 8, '86edbaa24831badfa0a8b04bb410141e2ee4182b6d0014493fe262a7a331c20b');
INSERT INTO v2fixture.attachments VALUES ('44444444-4444-4444-8444-444444444444', '5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1', 'plan.pdf', 'application/pdf', 8, '86edbaa24831badfa0a8b04bb410141e2ee4182b6d0014493fe262a7a331c20b');


--
-- Data for Name: callbacks_seen; Type: TABLE DATA; Schema: v2fixture; Owner: -
--



--
-- Data for Name: evidence; Type: TABLE DATA; Schema: v2fixture; Owner: -
--

INSERT INTO v2fixture.evidence VALUES ('11111111-1111-4111-8111-111111111111', 'eyJhbGciOiJQUzUxMiIsImtpZCI6Ik41Y3JfRHk5YWVqTTc3aHFWZ09JTTAyd2c1U0MyWnQ0VHFOeWRlNHBtZGMiLCJ0eXAiOiJzZWNldmVudCtqd3QifQ.eyIkc2NoZW1hIjoiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3Qvc2V0LXBheWxvYWQvMS4wLjAvc2V0LXBheWxvYWQuc2NoZW1hLmpzb24iLCJqdGkiOiIwOTJjZWJiZS03YjMyLTQzNjEtYWJmOC1lNjkyZWJkOGUzOGYiLCJpc3MiOiJodHRwczovL2RlbGl2ZXJ5LmV4YW1wbGUiLCJpYXQiOjE4MDAwMDAwMDAsInN1YiI6InN1Ym1pc3Npb246MTExMTExMTEtMTExMS00MTExLTgxMTEtMTExMTExMTExMTExIiwidHhuIjoiY2FzZTowYjRlN2E2Yy0zZjFkLTRjOGUtOWEyYi01ZDZlN2Y4YTliMGMiLCJldmVudHMiOnsiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3QvZXZlbnRzL3N1Ym1pdC1zdWJtaXNzaW9uIjp7ImF1dGhlbnRpY2F0aW9uVGFncyI6eyJtZXRhZGF0YSI6InJKekxLRjNBcFBRTi1nVWZLLUFoZ3ciLCJkYXRhIjoiTGJLUnd1bjJ0QWNhcUFkeEdKUW9ZZyIsImF0dGFjaG1lbnRzIjp7IjVlMGY2YTM5LTNjNTUtNGYzOC05ZDQ3LTBhOGZmMGEwZTdhMSI6IlJIN0ZXNVVnNnFEZ3FLd081NmcxUWcifX19fX0.mO3i9wuk-cpxW4P9ZDFXfqAynGaZSOBnLsd7EeZQG_xd9dLBNT635CFGT5hDvWc3137ZHcLeieIOeZDxOBGTfWZiOXjE0CcQB9X3B0H0iTy8wxJhaa1olqta4pAX8UBzQE8-Do-I9Pj2cMaAR3KUG3uk3lfc1ntybEzYTDZrBEc9M_ikGhgox0AyLtJeqCH9Ybj0l1B3QSH3faENSi2JzpYlf69pzJncg3QcksFa8T551-S6woZTxzpVx66PMeUrMXmP84NK_hjECQn4WYxjtDtND96jGWoDUT2-KWmCXf8GKyQ0xDXwTpzyVd6RiIX1jF32inF3crJ5X7VHqtCEzCDYYqq5X_HaDjg3oEurHUtMV78PvIxbHim6jNpRY-rJCzViNTWx6kz_jBf9epGMH9seybI5vt4HBfJ4OdZjIUFsUSWjBsacVVDvkBd21Y4p44ScPqPNoWh22Qc4Lz-RVgIx7NRRdLO6S2BTp5ygf3uqlts4FXW1M4HwHW1XBiMvA662_ytNYCFm9_53Zl0FU_Fw_xVPcUZyFatc2gezSOX9FEzZQWGkoGUQ9RFKK0Ixltg5mH162ZnhSfNM8nJ300RyUCd4D2Bi1MlSV0kthi44g4p1XLMI_LeQAAigS41Rpsur3IBKTa8mpte_lWXpA4JyIKRv4iyjv9zdbr3Z5yU', '{"metadata":"rJzLKF3ApPQN-gUfK-Ahgw","data":"LbKRwun2tAcaqAdxGJQoYg","attachments":{"5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1":"RH7FW5Ug6qDgqKwO56g1Qg"}}', '[["data","sha512:00"]]', 1800000000000, 1800000001000);
INSERT INTO v2fixture.evidence VALUES ('33333333-3333-4333-8333-333333333333', '', 'null', '[["data","sha512:00"]]', 1800000000000, 1800000001000);
INSERT INTO v2fixture.evidence VALUES ('22222222-2222-4222-8222-222222222222', 'eyJhbGciOiJQUzUxMiIsImtpZCI6Ik41Y3JfRHk5YWVqTTc3aHFWZ09JTTAyd2c1U0MyWnQ0VHFOeWRlNHBtZGMiLCJ0eXAiOiJzZWNldmVudCtqd3QifQ.eyIkc2NoZW1hIjoiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3Qvc2V0LXBheWxvYWQvMS4wLjAvc2V0LXBheWxvYWQuc2NoZW1hLmpzb24iLCJqdGkiOiIyZGUxODM1Yy1mYzg2LTRiYzQtYWFkZi03NjQ5YWVkZjQyZjYiLCJpc3MiOiJodHRwczovL2RlbGl2ZXJ5LmV4YW1wbGUiLCJpYXQiOjE4MDAwMDAwMDAsInN1YiI6InN1Ym1pc3Npb246MjIyMjIyMjItMjIyMi00MjIyLTgyMjItMjIyMjIyMjIyMjIyIiwidHhuIjoiY2FzZTowYjRlN2E2Yy0zZjFkLTRjOGUtOWEyYi01ZDZlN2Y4YTliMGMiLCJldmVudHMiOnsiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3QvZXZlbnRzL3N1Ym1pdC1zdWJtaXNzaW9uIjp7ImF1dGhlbnRpY2F0aW9uVGFncyI6eyJtZXRhZGF0YSI6InJKekxLRjNBcFBRTi1nVWZLLUFoZ3ciLCJkYXRhIjoiTGJLUnd1bjJ0QWNhcUFkeEdKUW9ZZyIsImF0dGFjaG1lbnRzIjp7IjVlMGY2YTM5LTNjNTUtNGYzOC05ZDQ3LTBhOGZmMGEwZTdhMSI6IlJIN0ZXNVVnNnFEZ3FLd081NmcxUWcifX19fX0.hbQVoU95egifaZ0oo7_0suS3KN_VqzH-ybTsFqhY20CnQ9tdw4UjhDeltkQyAF1g_ZHGYskVmfthHHzZ6jITYYZr0tdluWz4p6bgI5PbhN99sUu3ivtfP1HOi6U0VY1P9E12ZzKyh-fHncadxvg8zsFAWCEd8A0rp9mjXJGCh0j7v9hdJCm71Oy7kF-vz_CP4tJTg6N71wgQgzbW3nSyvyoGylNunZuw54pKuCFVvh317Bbs1QfWgjUH55nsuBPsjIQPe_60M5n4dAY_-nbr6zqOwUZNs98DpQvGJzTGCULejZ3kLhLpr3dvC4jcbEtdMw5LCShwda6vUL9ezHgHGc4r5VHoxvtVUzEWRdSFbKRze1lXV4t2l3x2LmejCMR2yg-QrQVpH-epS93z20GD_6BdsyZxshmbj1PhL9PeXWVO8hzbvvyMJjDEMX3HpXFE4--VkyoQenWnQEgvK0JZtZcbO0Z3Gx2ZfcN4WjrbU1XUBrW6NN3mG34EVzc-cnSMIhHbSutKO9E8KQrpSH3vgOCIfQON3RoFovrylegL4HEIuhkaLV4PG2X88KMEUvdIjSzZECDR0TkTaUfvvkhDw2na8Bk6s4z4frwIyjvFvZOUvygImU8wnwNQ5lnQsEpwRurleAssYp9u-o5mrgWtviB1AvGLQbbzQd8rioBWrvk', '{"metadata":"rJzLKF3ApPQN-gUfK-Ahgw","data":"LbKRwun2tAcaqAdxGJQoYg","attachments":{"5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1":"RH7FW5Ug6qDgqKwO56g1Qg"}}', '[["data","sha512:00"]]', 1800000000000, 1800000001000);
INSERT INTO v2fixture.evidence VALUES ('44444444-4444-4444-8444-444444444444', 'eyJhbGciOiJQUzUxMiIsImtpZCI6Ik41Y3JfRHk5YWVqTTc3aHFWZ09JTTAyd2c1U0MyWnQ0VHFOeWRlNHBtZGMiLCJ0eXAiOiJzZWNldmVudCtqd3QifQ.eyIkc2NoZW1hIjoiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3Qvc2V0LXBheWxvYWQvMS4wLjAvc2V0LXBheWxvYWQuc2NoZW1hLmpzb24iLCJqdGkiOiI4NzgwOTQ4Ny0yMDUyLTQwYmItYWEzYy1kYWFlZTZiMDJmM2UiLCJpc3MiOiJodHRwczovL2RlbGl2ZXJ5LmV4YW1wbGUiLCJpYXQiOjE4MDAwMDAwMDAsInN1YiI6InN1Ym1pc3Npb246NDQ0NDQ0NDQtNDQ0NC00NDQ0LTg0NDQtNDQ0NDQ0NDQ0NDQ0IiwidHhuIjoiY2FzZTowYjRlN2E2Yy0zZjFkLTRjOGUtOWEyYi01ZDZlN2Y4YTliMGMiLCJldmVudHMiOnsiaHR0cHM6Ly9zY2hlbWEuZml0a28uZGUvZml0LWNvbm5lY3QvZXZlbnRzL3N1Ym1pdC1zdWJtaXNzaW9uIjp7ImF1dGhlbnRpY2F0aW9uVGFncyI6eyJtZXRhZGF0YSI6InJKekxLRjNBcFBRTi1nVWZLLUFoZ3ciLCJkYXRhIjoiTGJLUnd1bjJ0QWNhcUFkeEdKUW9ZZyIsImF0dGFjaG1lbnRzIjp7IjVlMGY2YTM5LTNjNTUtNGYzOC05ZDQ3LTBhOGZmMGEwZTdhMSI6IlJIN0ZXNVVnNnFEZ3FLd081NmcxUWcifX19fX0.Q6RMqmrp3wjrob5FMsnSxiI1b8N7xhAFcLwnKuTlr5OZ-WO385XD9d9NEPOJVTHWy87I-zcp6ihjgEX_K26qglBRLFGzKPqlzk67tKSxtgmoBy3qyHuNx0ZXwWPJ5s7cberYuoBf0zEHQzw5xRHLZWSjyDUBKJh47Q99cDuNXPR1sD52GlMl5kgXjX8Jd5lYtr_2_u6OKkjHPl1tt1Wyz_RNFVkCvnGRPmscFq0v70BrNtnMmYK2BPeKyYfxI_8wzdgJsU5CujRjL0XxxcMHEzq6Ee_01naD7bCOK_XcGVCkfmuXMK7MZpt4X7cVhPhEDZxFqgLvCPliBEWNWalK11fF_b4rXStzgDAEbKEUC8go69ZEEC5oVPLfs380QgSbt0lzIw2cDaRk9HIyMZC5nUy8NBYz7K-SCHN3UaLbYJRLFB-oxtCC0mxWz4vflE9JKoxnl-NN4hPjD5S0v3LB7nC0lt1YCV7LxEtK5I2CLwJ4hHhGSm7tKZ4XL8bABDfcit2MIY7fvbIy2_n_jz6fWQypeufx8pcJxTU7vttttfk9vbVXbPkD70-Srq68olVUSGItG9CDLm-Fx4Zx_GdYVuvnsE4ElCaoEi9n5Hl-l0Igeq3z9JpD57OTcoRP9sbsatzrgjybe8FyyptBVVf3eHjnP8T9BRR049IwDmjgg3Y', '{"metadata":"rJzLKF3ApPQN-gUfK-Ahgw","data":"LbKRwun2tAcaqAdxGJQoYg","attachments":{"5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1":"RH7FW5Ug6qDgqKwO56g1Qg"}}', '[["data","sha512:00"]]', 1800000000000, 1800000001000);


--
-- Data for Name: outbox; Type: TABLE DATA; Schema: v2fixture; Owner: -
--

INSERT INTO v2fixture.outbox OVERRIDING SYSTEM VALUE VALUES (1, '11111111-1111-4111-8111-111111111111', 'bau', 'pending', 0, 1800000002000, 1800000002000, NULL, NULL, NULL, NULL);
INSERT INTO v2fixture.outbox OVERRIDING SYSTEM VALUE VALUES (2, '44444444-4444-4444-8444-444444444444', 'bau', 'pending', 0, 1800000002000, 1800000002000, NULL, NULL, NULL, NULL);


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: v2fixture; Owner: -
--

INSERT INTO v2fixture.schema_migrations VALUES (1, 'submissions, attachments, evidence, outbox', 1796422893886);
INSERT INTO v2fixture.schema_migrations VALUES (2, 'typed evidence: case, destination and message type columns; callback replay table', 1796442699850);


--
-- Data for Name: submissions; Type: TABLE DATA; Schema: v2fixture; Owner: -
--

INSERT INTO v2fixture.submissions VALUES ('55555555-5555-4555-8555-555555555555', 'seen', 1800000002000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO v2fixture.submissions VALUES ('11111111-1111-4111-8111-111111111111', 'stored', 1800000002000, 1800000002000, '{"submission":{"id":"a1","caseId":"0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c","destinationId":"879ee109-a690-4db8-ab32-424284184d7d"},"message":{"type":"baugenehmigung.antrag.0200"}}', 'accepted', NULL, 'after-store', NULL, NULL, '0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c', '879ee109-a690-4db8-ab32-424284184d7d', 'baugenehmigung.antrag.0200');
INSERT INTO v2fixture.submissions VALUES ('22222222-2222-4222-8222-222222222222', 'stored', 1800000002000, 1800000002000, NULL, 'rejected', '[{"type":"https://schema.fitko.de/fit-connect/events/problems/hash-mismatch","title":"Prüfsumme stimmt nicht","detail":"Der SHA-512-Hashwert des Inhalts stimmt nicht mit den Metadaten überein.","instance":"data"}]', 'after-store', NULL, NULL, '0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c', NULL, NULL);
INSERT INTO v2fixture.submissions VALUES ('33333333-3333-4333-8333-333333333333', 'stored', 1800000002000, 1800000002000, NULL, 'rejected', '[{"type":"https://schema.fitko.de/fit-connect/events/problems/invalid-event-log","title":"Inkonsistentes Event-Log","detail":"Das Event-Log enthält kein gültiges submit-submission-Ereignis.","instance":"submission"}]', 'after-store', NULL, NULL, NULL, NULL, NULL);
INSERT INTO v2fixture.submissions VALUES ('44444444-4444-4444-8444-444444444444', 'stored', 1800000002000, 1800000002000, '{"submission":{"id":"a1","caseId":"0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c","destinationId":"879ee109-a690-4db8-ab32-424284184d7d"},"message":{"type":"baugenehmigung.antrag.0200"}}', 'accepted', NULL, 'after-store', 1800000002000, 'ack.set.sig', '0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c', '879ee109-a690-4db8-ab32-424284184d7d', 'baugenehmigung.antrag.0200');


--
-- Name: outbox_job_id_seq; Type: SEQUENCE SET; Schema: v2fixture; Owner: -
--

SELECT pg_catalog.setval('v2fixture.outbox_job_id_seq', 2, true);


--
-- Name: attachment_chunks attachment_chunks_pkey; Type: CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.attachment_chunks
    ADD CONSTRAINT attachment_chunks_pkey PRIMARY KEY (submission_id, attachment_id, seq);


--
-- Name: attachments attachments_pkey; Type: CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.attachments
    ADD CONSTRAINT attachments_pkey PRIMARY KEY (submission_id, attachment_id);


--
-- Name: callbacks_seen callbacks_seen_pkey; Type: CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.callbacks_seen
    ADD CONSTRAINT callbacks_seen_pkey PRIMARY KEY (destination_id, timestamp_secs, mac);


--
-- Name: evidence evidence_pkey; Type: CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.evidence
    ADD CONSTRAINT evidence_pkey PRIMARY KEY (submission_id);


--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (job_id);


--
-- Name: outbox outbox_submission_id_upstream_key; Type: CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.outbox
    ADD CONSTRAINT outbox_submission_id_upstream_key UNIQUE (submission_id, upstream);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: submissions submissions_pkey; Type: CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.submissions
    ADD CONSTRAINT submissions_pkey PRIMARY KEY (submission_id);


--
-- Name: outbox_due; Type: INDEX; Schema: v2fixture; Owner: -
--

CREATE INDEX outbox_due ON v2fixture.outbox USING btree (next_attempt_at) WHERE (state = 'pending'::text);


--
-- Name: outbox_state; Type: INDEX; Schema: v2fixture; Owner: -
--

CREATE INDEX outbox_state ON v2fixture.outbox USING btree (state, job_id);


--
-- Name: submissions_unacked; Type: INDEX; Schema: v2fixture; Owner: -
--

CREATE INDEX submissions_unacked ON v2fixture.submissions USING btree (stored_at) WHERE ((state = 'stored'::text) AND (acked_at IS NULL));


--
-- Name: attachment_chunks attachment_chunks_submission_id_attachment_id_fkey; Type: FK CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.attachment_chunks
    ADD CONSTRAINT attachment_chunks_submission_id_attachment_id_fkey FOREIGN KEY (submission_id, attachment_id) REFERENCES v2fixture.attachments(submission_id, attachment_id) DEFERRABLE INITIALLY DEFERRED;


--
-- Name: attachments attachments_submission_id_fkey; Type: FK CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.attachments
    ADD CONSTRAINT attachments_submission_id_fkey FOREIGN KEY (submission_id) REFERENCES v2fixture.submissions(submission_id);


--
-- Name: evidence evidence_submission_id_fkey; Type: FK CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.evidence
    ADD CONSTRAINT evidence_submission_id_fkey FOREIGN KEY (submission_id) REFERENCES v2fixture.submissions(submission_id);


--
-- Name: outbox outbox_submission_id_fkey; Type: FK CONSTRAINT; Schema: v2fixture; Owner: -
--

ALTER TABLE ONLY v2fixture.outbox
    ADD CONSTRAINT outbox_submission_id_fkey FOREIGN KEY (submission_id) REFERENCES v2fixture.submissions(submission_id);


--
-- PostgreSQL database dump complete
--


