"""Chinese names, registration codes and descriptions for the generated world.

Descriptions and IP titles are built from per-sector vocabularies so that text features (character
n-gram TF-IDF) carry real signal about a company's sector and sub-sector.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from matcher.taxonomy import SECTORS

IntArray = npt.NDArray[np.int64]

# Unique brand characters; two of them make a brand (e.g. 华瑞, 星宇).
BRAND_CHARS: tuple[str, ...] = tuple(dict.fromkeys(
    "华湘莲星宇创恒瑞达鑫锐博信盛泰德源通远宏辰睿芯峰腾云海昊诚安康嘉隆丰和凯明光启航正弘立昌铭东方卓越"
    "中天合众力金鼎润泽晟翔宸骏驰麒麟赛思维晶钧岳衡韶楚潇昭晖朗拓新科迅捷汇聚沃佳优能精工久永兴旺胜利"
))

# Words a company name uses for its industry, per sector code.
INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    "new_energy": ("新能源", "风电装备", "储能科技", "氢能科技", "光伏科技"),
    "electric_drive": ("电气", "电机", "驱动技术", "电控科技", "传动科技"),
    "new_materials": ("新材料", "合金材料", "复合材料", "特钢科技", "材料科技"),
    "electronics_it": ("电子", "信息技术", "通信科技", "半导体", "微电子"),
    "robotics": ("机器人", "智能装备", "自动化科技", "智能科技", "智造科技"),
    "additive_medical": ("增材制造", "医疗器械", "精准医疗", "三维打印科技"),
    "carbon_sensors": ("传感技术", "碳基科技", "微纳传感", "感知科技"),
    "big_data": ("数据科技", "信息科技", "云计算", "智能科技", "数字科技"),
    "biomedicine": ("生物科技", "医药", "生物医药", "药业", "生命科学"),
}

# Products, core technologies and applications per sector, for descriptions and IP titles.
PRODUCTS: dict[str, tuple[str, ...]] = {
    "new_energy": ("风电变桨系统", "大型风电叶片", "储能变流器", "锂电储能柜", "光伏逆变器", "氢燃料电池堆"),
    "electric_drive": ("永磁同步电机", "牵引变流器", "伺服驱动器", "电机控制器", "变频调速装置", "电驱动总成"),
    "new_materials": ("高强度钢板", "碳纤维预浸料", "高温合金", "石墨烯导热膜", "耐磨复合涂层", "特种焊材"),
    "electronics_it": ("5G通信模组", "功率半导体器件", "工业控制软件", "物联网网关", "射频芯片", "嵌入式主板"),
    "robotics": ("六轴工业机器人", "协作机械臂", "巡检机器人", "AGV搬运机器人", "焊接机器人", "视觉分拣系统"),
    "additive_medical": ("金属3D打印机", "个性化骨科植入物", "手术导板", "齿科修复体", "医用钛合金粉末"),
    "carbon_sensors": ("碳纳米管气体传感器", "柔性压力传感器", "碳基芯片", "生物传感器", "温湿度传感模组"),
    "big_data": ("工业互联网平台", "数据治理平台", "人工智能算法引擎", "供应链金融系统", "城市大脑平台"),
    "biomedicine": ("创新小分子药", "单克隆抗体", "中药配方颗粒", "体外诊断试剂", "疫苗佐剂", "基因检测试剂盒"),
}
TECHNIQUES: dict[str, tuple[str, ...]] = {
    "new_energy": ("风机载荷控制", "电池热管理", "最大功率点跟踪", "电解水制氢", "叶片气动设计"),
    "electric_drive": ("矢量控制", "高功率密度电机设计", "碳化硅变流", "无位置传感器控制", "电机热仿真"),
    "new_materials": ("真空熔炼", "粉末冶金", "纤维缠绕成型", "表面改性", "微合金化"),
    "electronics_it": ("射频前端设计", "芯片封装测试", "边缘计算", "低功耗广域通信", "实时操作系统"),
    "robotics": ("运动控制", "机器视觉", "力控柔顺控制", "SLAM导航", "离线编程"),
    "additive_medical": ("选区激光熔化", "医学影像三维重建", "多孔结构设计", "生物相容涂层"),
    "carbon_sensors": ("碳纳米管阵列生长", "柔性印刷电子", "微机电工艺", "气敏材料修饰"),
    "big_data": ("知识图谱", "深度学习", "联邦学习", "时序数据库", "隐私计算"),
    "biomedicine": ("靶点筛选", "细胞培养工艺", "制剂缓释", "高通量测序", "中药提取纯化"),
}
APPLICATIONS: dict[str, tuple[str, ...]] = {
    "new_energy": ("陆上风电场", "海上风电", "工商业储能", "分布式光伏", "氢能交通"),
    "electric_drive": ("轨道交通", "新能源汽车", "矿山机械", "工业风机水泵", "电动船舶"),
    "new_materials": ("汽车轻量化", "航空航天", "桥梁建筑", "电子散热", "能源装备"),
    "electronics_it": ("智能电网", "工业控制", "车联网", "智慧城市", "消费电子"),
    "robotics": ("汽车焊装", "电力巡检", "仓储物流", "电子装配", "医疗康复"),
    "additive_medical": ("骨科手术", "口腔修复", "航空零部件", "模具制造"),
    "carbon_sensors": ("环境监测", "可穿戴设备", "工业安全", "医疗诊断"),
    "big_data": ("智能制造", "金融风控", "政务服务", "供应链管理", "能源管理"),
    "biomedicine": ("肿瘤治疗", "慢病管理", "传染病防控", "精准诊断", "中医药健康"),
}
IP_TITLE_FORMS = ("一种{p}及其制备方法", "一种基于{t}的{p}", "{p}控制系统", "一种{p}的检测装置",
                  "{t}方法及装置", "一种用于{a}的{p}")
SOFTWARE_TITLE_FORMS = ("{p}管理软件V{v}.0", "{t}分析平台V{v}.0", "{a}监测系统V{v}.0")
TRADEMARK_TITLE_FORM = "“{b}”商标"

# Registration-area codes (positions 3-8 of a USCC) per city.
CITY_AREA_CODES: dict[str, tuple[str, ...]] = {
    "湘潭": ("430300", "430302", "430304", "430371", "430321"),
    "长沙": ("430100", "430102", "430104", "430111"),
    "株洲": ("430200", "430202", "430211"),
}

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def sector_vocab_index(code: str) -> int:
    return [s.code for s in SECTORS].index(code)


def uscc_codes(rng: np.random.Generator, area_codes: list[str]) -> list[str]:
    """Unique, valid 统一社会信用代码 (GB 32100-2015) for companies registered in ``area_codes``.

    Layout: ``9`` (market regulator) ``1`` (enterprise), the 6-digit area code, a 9-character
    organisation code (8 digits + its GB 11714 check character) and the overall check character.
    """
    n = len(area_codes)
    org_numbers = rng.choice(10**8, size=n, replace=False)
    org_digits = (org_numbers[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    org_check = 11 - (org_digits @ _ORG_WEIGHTS) % 11
    org_check_chars = np.where(org_check == 10, "X", np.where(org_check == 11, "0", org_check.astype(str)))
    bodies = [
        "91" + area + "".join(map(str, digits)) + check
        for area, digits, check in zip(area_codes, org_digits.tolist(), org_check_chars.tolist(), strict=True)
    ]
    values = np.array([[_USCC_ALPHABET.index(c) for c in body] for body in bodies], dtype=np.int64)
    checks = (31 - (values @ _USCC_WEIGHTS) % 31) % 31
    return [body + _USCC_ALPHABET[c] for body, c in zip(bodies, checks.tolist(), strict=True)]


def unique_brands(rng: np.random.Generator, n: int, variants: int) -> tuple[list[str], IntArray]:
    """``n`` distinct (brand, variant) pairs: two brand characters and a variant index in ``[0, variants)``."""
    k = len(BRAND_CHARS)
    space = k * k * variants
    if n > space:
        raise ValueError(f"cannot make {n} distinct names from {space} combinations")
    picks = rng.choice(space, size=n, replace=False)
    first, rest = np.divmod(picks, k * variants)
    second, variant = np.divmod(rest, variants)
    brands = [BRAND_CHARS[a] + BRAND_CHARS[b] for a, b in zip(first.tolist(), second.tolist(), strict=True)]
    return brands, variant.astype(np.int64)


def pick(rng: np.random.Generator, options: tuple[str, ...], n: int) -> list[str]:
    return [options[i] for i in rng.integers(0, len(options), size=n).tolist()]
