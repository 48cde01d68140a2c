"""Japanese person names without an NER model: a common surname, then a given name or an honorific.

Used by DI-10 for names the profile does not list (a manager a lure was forwarded to, the author
of a note). Surnames are the ~250 most frequent two- and three-character ones: one-character
surnames (林, 森, 原) are too often ordinary words and count only before an honorific.
"""
from __future__ import annotations

import re

SURNAMES = """
佐藤 鈴木 高橋 田中 伊藤 渡辺 渡邊 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 斎藤 斉藤 清水
山崎 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本 福田
太田 西村 藤井 金子 岡本 藤原 中野 三浦 原田 中川 松田 竹内 小野 田村 中山 和田 石田 森田 上田 内田
柴田 酒井 宮崎 横山 高木 安藤 宮本 大野 小島 谷口 今井 工藤 高田 増田 丸山 杉山 村田 大塚 新井 小山
平野 藤本 河野 上野 野口 武田 松井 千葉 岩崎 菅原 木下 久保 佐野 野村 松尾 市川 菊地 杉本 古川 大西
島田 水野 桜井 高野 渡部 吉川 山内 西田 飯田 菊池 西川 小松 北村 安田 五十嵐 川口 平田 中田 久保田
服部 岩田 土屋 川村 星野 福島 浅野 森下 村井 大槻 広瀬 廣瀬 亀田 長瀬 永井 松岡 田口 山中 森本 中西
小池 堀 岡崎 樋口 秋山 大石 須藤 荒木 松下 原 北川 石原 熊谷 本田 大橋 小西 片山 吉村 堀内 中尾
望月 小田 川上 岩本 浜田 濱田 松浦 三宅 吉岡 内藤 関口 大川 石橋 永田 宮田 平井 杉田 今村 菅野 上原
大島 矢野 坂口 堀田 中谷 石塚 大久保 早川 川崎 荒井 宮下 黒田 馬場 黒木 野田 西山 村山 上村 西尾
筒井 片岡 河合 奥村 松永 田辺 田邊 岡村 田島 辻 宇野 山根 長田 大森 北野 飯島 稲葉 泉 細川 村松 新田
高山 安部 竹田 小倉 成田 中原 若林 富田 桑原 宮内 堤 末永 松村 相馬 寺田 酒本 島崎 大谷 坂井 宮川
石黒 田代 関根 森山 足立 柳田 水谷 白石 森川 東野 大竹 榊原 古田 南 福井 青山 平山 木内 羽田 植田
""".split()
_MULTI = sorted({s for s in SURNAMES if len(s) >= 2}, key=len, reverse=True)
_ALL = sorted(set(SURNAMES), key=len, reverse=True)
HONORIFICS = "様|さま|さん|氏|殿|君|くん|ちゃん|部長|課長|係長|主任|社長|専務|常務|室長|所長|支店長|担当"
# Given names: one or two kanji (恵子, 護), or two to four kana; then something that is not
# a further kanji (so 山田工業所 is not read as 山田 + 工業).
PERSON = re.compile(
    r"(?<![一-龥々])"
    r"(?:(?P<sur>" + "|".join(_MULTI) + r")[ 　]?(?P<given>[一-龥々]{1,2}|[ぁ-ん]{2,4}|[ァ-ヶー]{2,4})"
    r"(?=[ 　]?(?:" + HONORIFICS + r")|[^一-龥々ぁ-んァ-ヶー]|[はがのにをともへでや]|$)"
    r"|(?P<sur2>" + "|".join(_ALL) + r")[ 　]?(?=" + HONORIFICS + r"))")
_HONORIFIC = re.compile(HONORIFICS)
# Words that follow a surname-like prefix in ordinary technical prose.
_NOT_GIVEN = {"工業", "製作", "商事", "電機", "電気", "化学", "建設", "物産", "産業", "銀行", "証券", "病院",
              "大学", "市", "町", "村", "県", "区", "駅", "線", "港", "店", "社", "家", "通り"}
# P2: katakana words that make a surname-like word a product or a thing, not a given name
# (桜井エディタ, 中村メール): software and IT nouns written in katakana.
_NOT_GIVEN_KANA = {"エディタ", "エディター", "メール", "ツール", "リーダ", "リーダー", "ビューア", "ビューワ", "ソフト",
                   "システム", "サーバ", "サーバー", "クライアント", "ブラウザ", "アプリ", "ウイルス", "ウィルス",
                   "パッチ", "データ", "ファイル", "フォルダ", "メモ", "ノート", "サービス", "ネット", "ウェア",
                   "ソフトウェア", "ドライバ", "プラグイン", "マクロ", "スクリプト", "ランサム", "ワーム", "ボット",
                   "ローダ", "ローダー", "ドロッパ", "バックドア", "モジュール", "ライブラリ", "エンジン", "コード",
                   "キー", "ログ", "ゲート", "ポート", "ルータ", "ルーター", "カメラ", "プリンタ", "ケース"}


def names(text: str):
    """Yield (start, end) of Japanese person names in text."""
    for m in PERSON.finditer(text):
        given = m.group("given")
        if given and (given in _NOT_GIVEN or given in _NOT_GIVEN_KANA
                      or any(given.startswith(w) for w in _NOT_GIVEN_KANA if len(w) >= 3)):
            continue
        if given and _HONORIFIC.fullmatch(given):  # 中村さん: the name is the surname alone
            yield m.start("sur"), m.end("sur")
            continue
        yield m.start(), m.end()
